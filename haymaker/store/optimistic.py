"""Read-modify-write under an ETag, retried with jittered backoff after a conflicting write."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from azure.core.exceptions import ResourceModifiedError

from haymaker.errors import ConcurrencyError

R = TypeVar("R")
T = TypeVar("T")

MAX_UPDATE_ATTEMPTS = 30
MAX_BACKOFF_SECONDS = 0.5


async def read_modify_write(
    what: str,
    read: Callable[[], Awaitable[R]],
    change: Callable[[R], T],
    write: Callable[[R], Awaitable[Any]],
    fingerprint: Callable[[R], Any],
) -> tuple[R, T]:
    """Apply `change` to a fresh read and `write` it if nobody wrote since; on a conflict,
    start again from a fresh read. `change` edits the record in place and may raise to
    refuse; nothing is written when it changes nothing."""
    for attempt in range(MAX_UPDATE_ATTEMPTS):
        record = await read()
        before = fingerprint(record)
        result = change(record)
        if fingerprint(record) == before:
            return record, result
        try:
            await write(record)
        except ResourceModifiedError:
            # full jitter, so a crowd of writers spreads out instead of colliding again
            await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.01 * 2**attempt)))
            continue
        return record, result
    raise ConcurrencyError(f"{what} kept changing; gave up after {MAX_UPDATE_ATTEMPTS} tries")
