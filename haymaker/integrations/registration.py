"""A ServiceSpec checked and turned into the record that is stored: an OpenAPI document is
fetched (through http_fetch's client, under the service's host rules and credentials),
validated and compiled; an MCP server is listed, so an allow-list naming a tool it lacks is
refused now rather than when a deployment starts. Every problem is a RegistrationError (422)
that names it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from haymaker.errors import ConfigError
from haymaker.integrations.access import ServiceAccess, host_policy
from haymaker.integrations.credentials import CredentialError
from haymaker.integrations.models import ServiceRecord, ServiceSpec, ToolSummary
from haymaker.integrations.openapi_document import (
    RegistrationError,
    compile_api,
    parse_document,
    summaries,
    validate_document,
)
from haymaker.tools.builtin.netpolicy import FetchRefused

if TYPE_CHECKING:
    from haymaker.integrations.models import McpListing

MAX_DOCUMENT_BYTES = 5_000_000


async def register(spec: ServiceSpec, access: ServiceAccess) -> ServiceRecord:
    if spec.kind == "openapi":
        return await _register_openapi(spec, access)
    listing = await _list_mcp(spec, access)
    from haymaker.integrations.mcp import McpToolSource

    infos = await McpToolSource(listing, access).list_tools()
    return ServiceRecord(
        spec=spec.without_document(),
        registered_at=access.clock(),
        tools=[
            ToolSummary(
                name=info.name,
                description=info.spec.description.split("\n", 1)[0][:200],
                side_effects=info.side_effects,
            )
            for info in infos
        ],
    )


async def _list_mcp(spec: ServiceSpec, access: ServiceAccess) -> McpListing:
    from haymaker.integrations.mcp import McpUnavailable, list_mcp_tools

    try:
        return await list_mcp_tools(spec, access)
    except McpUnavailable as exc:
        raise RegistrationError(str(exc)) from None
    except ConfigError as exc:
        raise RegistrationError(exc.detail) from None


async def _register_openapi(spec: ServiceSpec, access: ServiceAccess) -> ServiceRecord:
    if spec.document is not None:
        document = parse_document(spec.document, "given")
    elif spec.url is not None:
        document = parse_document(await _fetch_document(spec, access), f"at {spec.url}")
    else:
        raise RegistrationError("an openapi service needs its document: url or document")
    where = f"at {spec.url}" if spec.url else "given"
    validate_document(document, where)
    api, skipped = compile_api(document, spec, spec.url)
    return ServiceRecord(
        spec=spec.without_document(),
        registered_at=access.clock(),
        api=api,
        tools=summaries(api),
        skipped=skipped,
    )


async def _fetch_document(spec: ServiceSpec, access: ServiceAccess) -> bytes:
    from haymaker.tools.builtin.http_client import FetchFailed, fetch

    assert spec.url is not None
    try:
        auth = await access.credentials.for_service(spec)
    except CredentialError as exc:
        raise RegistrationError(str(exc)) from None
    url = spec.url
    if auth.query:
        from urllib.parse import quote, urlencode

        url += ("&" if "?" in url else "?") + urlencode(list(auth.query.items()), quote_via=quote)
    try:
        response = await fetch(
            url,
            method="GET",
            headers={"Accept": "application/json, application/yaml, */*;q=0.5", **auth.headers},
            max_bytes=MAX_DOCUMENT_BYTES,
            policy=host_policy(spec),
            max_redirects=5,
            timeout_seconds=spec.timeout_seconds,
            resolver=access.resolver,
        )
    except (FetchRefused, FetchFailed) as exc:
        raise RegistrationError(
            f"the document at {spec.url} could not be fetched: {auth.scrub(str(exc))}"
        ) from None
    if response.status >= 400:
        raise RegistrationError(
            f"the document at {spec.url} could not be fetched: HTTP {response.status}"
        )
    if response.body_truncated:
        raise RegistrationError(f"the document at {spec.url} is over {MAX_DOCUMENT_BYTES} bytes")
    return response.body
