"""A document too large for one Table property, kept in one entity: its JSON compressed and
split across binary properties `<name>_0`, `<name>_1`, ... (64 KiB each; an entity holds at
most 1 MiB, so about 900 KB compressed, several MB of JSON schemas)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from haymaker.errors import PayloadTooLargeError

CHUNK_BYTES = 64 * 1024
MAX_PACKED_BYTES = 900_000


def pack(name: str, text: str, what: str) -> dict[str, Any]:
    """The properties that hold `text`; PayloadTooLargeError naming `what` if it cannot fit."""
    packed = zlib.compress(text.encode("utf-8"), 6)
    if len(packed) > MAX_PACKED_BYTES:
        raise PayloadTooLargeError(
            f"{what} is {len(text)} characters ({len(packed)} bytes compressed); "
            f"at most {MAX_PACKED_BYTES} compressed bytes fit"
        )
    chunks = [packed[start : start + CHUNK_BYTES] for start in range(0, len(packed), CHUNK_BYTES)]
    properties: dict[str, Any] = {f"{name}_{index}": chunk for index, chunk in enumerate(chunks)}
    properties[f"{name}_chunks"] = len(chunks)
    return properties


def unpack(name: str, entity: Mapping[str, Any]) -> str:
    count = int(entity[f"{name}_chunks"])
    packed = b"".join(bytes(entity[f"{name}_{index}"]) for index in range(count))
    return zlib.decompress(packed).decode("utf-8")
