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
    ServiceRecord,
    ServiceSpec,
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


async def service_specs(
    config: IntegrationConfig, settings: Settings, stores: Stores
) -> list[ServiceSpec | ServiceRecord]:
    """The specs the config names (a registered service as its record), in order;
    ConfigError for a name nothing defines, or one used twice."""
    chosen: list[ServiceSpec | ServiceRecord] = [server.as_spec() for server in config.mcp_servers]
    for name in config.services:
        if not re.fullmatch(SERVICE_NAME_PATTERN, name):
            raise ConfigError(f"config services: {name!r} is not a service name")
        spec = settings.mcp_servers.get(name)
        if spec is not None:
            chosen.append(spec)
            continue
        record = await stores.services.find(name)
        if record is None:
            raise ConfigError(
                f"config services: no service {name} is registered "
                "(nor named in HAYMAKER_MCP_SERVERS)"
            )
        chosen.append(record)
    names = [item.spec.name if isinstance(item, ServiceRecord) else item.name for item in chosen]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"config names service {', '.join(twice)} twice")
    return chosen


async def open_integrations(
    deployment_id: str,
    config: Mapping[str, Any],
    *,
    settings: Settings,
    stores: Stores,
    access: ServiceAccess | None = None,
) -> list[ToolSource]:
    """The deployment's outside sources (none if its config names none). The first call
    lists each MCP server (McpUnavailable if one cannot be listed: retry the step) and
    keeps every listing; later calls build the sources from what was kept."""
    from haymaker.integrations.mcp import list_mcp_tools
    from haymaker.integrations.openapi import listing_of

    integration = IntegrationConfig.of(config)
    if not integration.mcp_servers and not integration.services:
        return []
    access = access or default_access(settings, stores)
    listings: list[McpListing | OpenApiListing] = []
    for item in await service_specs(integration, settings, stores):
        name = item.spec.name if isinstance(item, ServiceRecord) else item.name
        listing = await stores.tool_listings.get(deployment_id, name)
        if listing is None:
            if isinstance(item, ServiceRecord):
                listing = (
                    listing_of(item, access)
                    if item.spec.kind == "openapi"
                    else await list_mcp_tools(item.spec, access)
                )
            else:
                listing = await list_mcp_tools(item, access)
            listing = await stores.tool_listings.keep(deployment_id, listing)
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
