"""Where an agent's tools come from: the built-in tools and installed plugins (the
`haymaker.tools` entry point group); MCP servers and OpenAPI services join here."""

from __future__ import annotations

from typing import Any

from haymaker.tools import ToolSource, get_registry


async def agent_sources(config: dict[str, Any], stores: Any) -> list[ToolSource]:
    return [get_registry()]
