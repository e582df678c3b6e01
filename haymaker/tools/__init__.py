"""Tools for agents: typed Python functions (`@tool`), the sources that offer them (the
in-process registry now; MCP servers and OpenAPI services later) and the Toolbox an agent
calls them through. Nothing here imports aiohttp or a store until a tool needs it."""

from __future__ import annotations

from haymaker.tools.builtin.finish import FINISH_TOOL
from haymaker.tools.context import ToolContext, ToolLimits
from haymaker.tools.function import Tool, tool
from haymaker.tools.outcome import (
    Confirmation,
    ConfirmStatus,
    ToolDeferred,
    ToolError,
    ToolOutcome,
)
from haymaker.tools.registry import (
    ENTRY_POINT_GROUP,
    LOCAL_SOURCE,
    ToolRegistry,
    builtin_tools,
    get_registry,
)
from haymaker.tools.resources import (
    TOOL_RESOURCE_KIND,
    ToolResourceError,
    ToolResourceRef,
    delete_tool_resource,
    tool_resource_ref,
)
from haymaker.tools.source import ToolInfo, ToolSource
from haymaker.tools.toolbox import AmbiguousToolError, Toolbox, UnknownToolError

__all__ = [
    "ENTRY_POINT_GROUP",
    "FINISH_TOOL",
    "LOCAL_SOURCE",
    "TOOL_RESOURCE_KIND",
    "AmbiguousToolError",
    "ConfirmStatus",
    "Confirmation",
    "Tool",
    "ToolContext",
    "ToolDeferred",
    "ToolError",
    "ToolInfo",
    "ToolLimits",
    "ToolOutcome",
    "ToolRegistry",
    "ToolResourceError",
    "ToolResourceRef",
    "ToolSource",
    "Toolbox",
    "UnknownToolError",
    "builtin_tools",
    "delete_tool_resource",
    "get_registry",
    "tool",
    "tool_resource_ref",
]
