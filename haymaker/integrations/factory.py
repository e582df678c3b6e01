"""The outside tool sources of one deployment, for the agent runtime:

    sources = await open_integrations(deployment_id, config, settings=..., stores=...)
    toolbox = await Toolbox.open([get_registry(), *sources], names)

A deployment's config names them: `mcp_servers` (its own MCP servers: name, url, optional
`tools` allow-list, no credentials) and `services` (names of registered services or of the
MCP servers in the HAYMAKER_MCP_SERVERS app setting). Each source's listing is stored for
the deployment the first time (stores.tool_listings) and read back every time after, so
every step, replay and re-run of the deployment sees the same tools, and a server is
listed once per deployment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError

from haymaker.errors import ConfigError
from haymaker.integrations.access import ServiceAccess
from haymaker.integrations.models import (
    SERVICE_NAME_PATTERN,
    McpListing,
    McpServerConfig,
    OpenApiListing,
)
from haymaker.models import Model

if TYPE_CHECKING:
    from haymaker.settings import Settings
    from haymaker.store import Stores
    from haymaker.tools.source import ToolSource


class IntegrationConfig(Model):
    """The keys of a deployment's config this layer reads (the rest is the agent's)."""

    mcp_servers: list[McpServerConfig] = Field(default_factory=list, max_length=20)
    services: list[str] = Field(default_factory=list, max_length=20)

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> IntegrationConfig:
        try:
            return cls.model_validate(
                {key: config[key] for key in ("mcp_servers", "services") if key in config}
            )
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ConfigError(f"config {where}: {error['msg']}") from None


def default_access(settings: Settings, stores: Stores) -> ServiceAccess:
    from haymaker.integrations.credentials import Credentials

    return ServiceAccess(Credentials(settings), rate_limiter=stores.ratelimits)


def _named(config: IntegrationConfig) -> list[str]:
    """The services the config names, in order; ConfigError for a bad or repeated name."""
    names = [server.name for server in config.mcp_servers]
    for name in config.services:
        if not re.fullmatch(SERVICE_NAME_PATTERN, name):
            raise ConfigError(f"config services: {name!r} is not a service name")
        names.append(name)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"config names service {', '.join(twice)} twice")
    return names


async def _listing(
    name: str, config: IntegrationConfig, settings: Settings, stores: Stores, access: ServiceAccess
) -> McpListing | OpenApiListing:
    """Service `name` listed now: from the config's own servers, the app setting's, or the
    registrations (ConfigError if none defines it)."""
    from haymaker.integrations.mcp import list_mcp_tools
    from haymaker.integrations.openapi import listing_of

    own = next((server for server in config.mcp_servers if server.name == name), None)
    if own is not None:
        return await list_mcp_tools(own.as_spec(), access)
    spec = settings.mcp_servers.get(name)
    if spec is not None:
        return await list_mcp_tools(spec, access)
    record = await stores.services.find(name)
    if record is None:
        raise ConfigError(
            f"config services: no service {name} is registered (nor named in HAYMAKER_MCP_SERVERS)"
        )
    if record.spec.kind == "openapi":
        return listing_of(record, access)
    return await list_mcp_tools(record.spec, access)


async def open_integrations(
    deployment_id: str,
    config: Mapping[str, Any],
    *,
    settings: Settings,
    stores: Stores,
    access: ServiceAccess | None = None,
) -> list[ToolSource]:
    """The deployment's outside sources (none if its config names none). The first call
    lists each service (McpUnavailable if an MCP server cannot be listed: retry the step)
    and keeps the listing; later calls build the sources from what was kept, whatever
    became of the server or the registration meanwhile."""
    integration = IntegrationConfig.of(config)
    names = _named(integration)
    if not names:
        return []
    access = access or default_access(settings, stores)
    listings: list[McpListing | OpenApiListing] = []
    for name in names:
        listing = await stores.tool_listings.get(deployment_id, name)
        if listing is None:
            fresh = await _listing(name, integration, settings, stores, access)
            listing = await stores.tool_listings.keep(deployment_id, fresh)
        listings.append(listing)
    return sources_from_listings(listings, access)


def sources_from_listings(
    listings: Sequence[McpListing | OpenApiListing], access: ServiceAccess
) -> list[ToolSource]:
    """A source for each listing, without asking any service."""
    from haymaker.integrations.mcp import McpToolSource
    from haymaker.integrations.openapi import OpenApiToolSource

    return [
        McpToolSource(listing, access)
        if isinstance(listing, McpListing)
        else OpenApiToolSource(listing, access)
        for listing in listings
    ]
