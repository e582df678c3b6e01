"""The in-process tools: the built-in ones and any installed under the `haymaker.tools`
entry point group (an entry point names a `Tool`, the object `@tool` makes, and must carry
its name). The registry is itself a ToolSource, named "local"."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from haymaker.llm.messages import ToolCall
from haymaker.models import Resource
from haymaker.tools.context import ToolContext
from haymaker.tools.function import Tool
from haymaker.tools.outcome import Confirmation, ToolOutcome
from haymaker.tools.source import ToolInfo, ToolSource
from haymaker.tools.toolbox import UnknownToolError

ENTRY_POINT_GROUP = "haymaker.tools"
LOCAL_SOURCE = "local"

logger = logging.getLogger(__name__)


class ToolRegistry(ToolSource):
    def __init__(self, tools: Iterable[Tool] = (), *, name: str = LOCAL_SOURCE) -> None:
        self.name = name
        self._tools: dict[str, Tool] = {}
        for one in tools:
            self.add(one)

    def add(self, tool: Tool) -> None:
        """Register `tool`; ValueError if another tool already has its name."""
        existing = self._tools.get(tool.name)
        if existing is not None and existing is not tool:
            raise ValueError(f"two tools are named {tool.name}: {existing.fn} and {tool.fn}")
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name, self.names()) from None

    async def list_tools(self) -> list[ToolInfo]:
        return [self._tools[name].info(self.name) for name in self.names()]

    async def has_tool(self, name: str) -> bool:
        return name in self._tools

    async def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolContext) -> ToolOutcome:
        return await self.get(name).call(arguments, ctx, source=self.name)

    async def confirm(self, name: str, call: ToolCall, ctx: ToolContext) -> Confirmation:
        return await self.get(name).confirm(call, ctx, source=self.name)

    async def delete_resource(self, name: str, resource: Resource, ctx: ToolContext) -> None:
        await self.get(name).delete_resource(resource, ctx, source=self.name)


def builtin_tools() -> list[Tool]:
    from haymaker.tools.builtin import all_builtin_tools

    return all_builtin_tools()


def _load_entry_point(entry_point: EntryPoint) -> Tool | None:
    try:
        loaded = entry_point.load()
        if not isinstance(loaded, Tool):
            raise TypeError(f"{entry_point.value} is not a tool (decorate it with @tool)")
        if loaded.name != entry_point.name:
            raise ValueError(f"entry point {entry_point.name} names a tool called {loaded.name}")
    except Exception:
        # One broken plugin must not take the platform down; its tool is simply not offered.
        logger.exception("tool plugin %s could not be loaded", entry_point.name)
        return None
    return loaded


@cache
def get_registry() -> ToolRegistry:
    """The built-in tools plus every installed plugin tool (loaded once per process)."""
    registry = ToolRegistry(builtin_tools())
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        loaded = _load_entry_point(entry_point)
        if loaded is None:
            continue
        try:
            registry.add(loaded)
        except ValueError:
            logger.exception("tool plugin %s clashes with another tool", entry_point.name)
    return registry
