"""Tool names as the models accept them, made from what a service calls its operations."""

from __future__ import annotations

import re
from collections.abc import Iterable

from haymaker.errors import ConfigError

_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_TOOL_NAME = 64


def tool_name(raw: str, prefix: str = "") -> str:
    """`prefix` + `raw` with every run of characters outside a-z A-Z 0-9 _ - as one `_`,
    cut to 64 characters: `pets.list` -> `pets_list`, `GET /pets/{id}` -> `GET_pets_id_`."""
    name = _NOT_ALLOWED.sub("_", raw).strip("_") or "tool"
    return (prefix + name)[:MAX_TOOL_NAME]


def unique_names(pairs: Iterable[tuple[str, str]], service: str) -> dict[str, str]:
    """{offered name: the service's own} for (own, offered) pairs; ConfigError when two of
    the service's names become the same tool name."""
    offered: dict[str, str] = {}
    for own, name in pairs:
        if name in offered:
            raise ConfigError(
                f"service {service}: {offered[name]!r} and {own!r} both become tool {name}"
            )
        offered[name] = own
    return offered
