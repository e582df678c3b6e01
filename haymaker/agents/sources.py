"""Where an agent's tools come from: the built-in tools and installed plugins (the
`haymaker.tools` entry point group), and the MCP servers and OpenAPI services its config
names (haymaker.integrations). The services are listed once per deployment and the listing
kept, so every later step, and a re-run after a crash, sees the same tools."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from haymaker.tools import ToolSource, get_registry

if TYPE_CHECKING:
    from haymaker.settings import Settings
    from haymaker.store import Stores


async def agent_sources(
    deployment_id: str,
    config: dict[str, Any],
    *,
    stores: Stores,
    settings: Settings | None,
    clock: Callable[[], datetime],
) -> list[ToolSource]:
    sources: list[ToolSource] = [get_registry()]
    if not (config.get("mcp_servers") or config.get("services")):
        return sources
    from haymaker.integrations.access import ServiceAccess
    from haymaker.integrations.credentials import Credentials
    from haymaker.integrations.factory import open_integrations
    from haymaker.workloads.base import WorkloadError

    if settings is None:
        raise WorkloadError("this agent's services need the platform's settings")
    # The step's clock: rate-limit windows follow the orchestration's time.
    access = ServiceAccess(Credentials(settings), rate_limiter=stores.ratelimits, clock=clock)
    sources += await open_integrations(
        deployment_id, config, settings=settings, stores=stores, access=access
    )
    return sources
