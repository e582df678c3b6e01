"""The built-in tools: http_fetch, memory_write, memory_read, memory_search and finish.
Imported only when the registry is first used (they bring the store and HTTP code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haymaker.tools.function import Tool


def all_builtin_tools() -> list[Tool]:
    from haymaker.tools.builtin.finish import finish
    from haymaker.tools.builtin.http_fetch import http_fetch
    from haymaker.tools.builtin.memory import memory_read, memory_search, memory_write

    return [http_fetch, memory_write, memory_read, memory_search, finish]
