"""MCP servers over streamable HTTP as tool sources, on the official `mcp` SDK (imported when
a server is first reached).

A server's tools are listed once per deployment into an `McpListing` (stored by the agent
runtime); `McpToolSource(listing, access)` offers exactly those tools again, so a replay or
a re-run sees what the first run saw, whatever the server lists meanwhile. Each call opens a
session, calls one tool and closes it: a durable step holds no connection across a crash.

What comes back: the tool's text content (and structured content as `data`), `is_error` as
an error outcome the model sees. A server that cannot be reached, does not answer in time or
drops the connection is an error outcome too, whose `data` (CallFailure) says whether the
call was sent and whether repeating it is safe; see haymaker.integrations.access.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from haymaker.errors import ConfigError
from haymaker.integrations.access import ServiceAccess, failure_outcome, host_policy
from haymaker.integrations.credentials import CredentialError, RequestAuth
from haymaker.integrations.models import MAX_LISTED, McpListing, McpTool, ServiceSpec
from haymaker.integrations.names import tool_name, unique_names
from haymaker.integrations.service_source import ServiceToolSource, needs_approval
from haymaker.llm.tools import ToolSpec
from haymaker.tools.builtin.netpolicy import FetchRefused
from haymaker.tools.context import ToolContext
from haymaker.tools.outcome import ToolOutcome
from haymaker.tools.source import ToolInfo

if TYPE_CHECKING:
    from mcp import ClientSession

MAX_DESCRIPTION_CHARS = 2_000
# At DEBUG the SDK logs every message it receives and httpcore2 every body it reads, tool
# results and all, and a server may echo a credential back: neither goes below INFO.
for _logger in ("mcp", "httpcore2"):
    logging.getLogger(_logger).setLevel(logging.INFO)


class McpUnavailable(Exception):
    """A server whose tools could not be listed (down, refused, not MCP); the message is safe
    to show. Listing happens when a deployment starts: the runtime may retry it."""


class _NotSent(Exception):
    """The session failed before the tool call went out."""


async def list_mcp_tools(spec: ServiceSpec, access: ServiceAccess) -> McpListing:
    """The tools `spec`'s server offers now, narrowed to its allow-list. McpUnavailable if
    the server cannot be listed, ConfigError if the allow-list names a tool it lacks."""
    assert spec.url is not None
    try:
        auth = await access.credentials.for_service(spec)
        async with _session(spec, access, auth) as (session, server):
            tools = await _every_tool(session)
    except (CredentialError, FetchRefused) as exc:
        raise McpUnavailable(str(exc)) from None
    except _NotSent as exc:
        raise McpUnavailable(f"MCP server {spec.name} could not be listed: {exc}") from None
    except Exception as exc:
        raise McpUnavailable(
            f"MCP server {spec.name} could not be listed: {_describe(exc)}"
        ) from None
    offered = {tool.name: tool for tool in tools}
    missing = [name for name in spec.operations if name not in offered]
    if missing:
        raise ConfigError(
            f"MCP server {spec.name} offers no tool {', '.join(missing)} "
            f"(it offers: {', '.join(sorted(offered)) or 'none'})"
        )
    chosen = [tool for tool in tools if not spec.operations or tool.name in spec.operations]
    if len(chosen) > MAX_LISTED:
        raise ConfigError(
            f"MCP server {spec.name} offers {len(chosen)} tools; list at most {MAX_LISTED} "
            "in its tools allow-list"
        )
    listing = McpListing(
        spec=spec.without_document(),
        listed_at=access.clock(),
        server=server,
        tools=[_tool(tool) for tool in chosen],
    )
    McpToolSource(listing, access)  # the names must make tools
    return listing


class McpToolSource(ServiceToolSource):
    """The tools of one MCP server, as `listing` recorded them."""

    kind = "MCP server"

    def __init__(self, listing: McpListing, access: ServiceAccess) -> None:
        super().__init__(listing.spec, access)
        self.listing = listing
        self._by_name = {tool.name: tool for tool in listing.tools}
        self._offered = unique_names(
            ((tool.name, tool_name(tool.name, self.spec.prefix)) for tool in listing.tools),
            self.name,
        )
        self._infos = {
            name: self._info(name, self._by_name[own]) for name, own in self._offered.items()
        }

    @classmethod
    async def open(cls, spec: ServiceSpec, access: ServiceAccess) -> McpToolSource:
        """List the server now (see list_mcp_tools) and offer what it listed."""
        return cls(await list_mcp_tools(spec, access), access)

    def _info(self, offered: str, tool: McpTool) -> ToolInfo:
        read_only = bool(tool.read_only_hint) or tool.name in self.spec.read_only
        approval = self.spec.approval
        return ToolInfo(
            spec=ToolSpec(
                name=offered,
                description=tool.description[:MAX_DESCRIPTION_CHARS],
                input_schema=tool.input_schema,
            ),
            source=self.name,
            side_effects=not read_only,
            requires_approval=needs_approval(approval, not read_only),
        )

    async def _send(
        self,
        name: str,
        arguments: dict[str, Any],
        auth: RequestAuth,
        info: ToolInfo,
        ctx: ToolContext,
    ) -> ToolOutcome:
        tool = self._by_name[self._offered[name]]
        return await self._call(tool, arguments, auth, info.side_effects, ctx)

    async def _call(
        self,
        tool: McpTool,
        arguments: dict[str, Any],
        auth: RequestAuth,
        side_effects: bool,
        ctx: ToolContext,
    ) -> ToolOutcome:
        sent = False
        timeout = self.spec.timeout_seconds
        try:
            async with _session(self.spec, self._access, auth) as (session, _):
                sent = True
                result = await session.call_tool(tool.name, arguments, read_timeout_seconds=timeout)
        except FetchRefused as exc:
            ctx.log(f"refused: {exc}", "warning")
            return failure_outcome(
                f"refused: {exc}", "refused", sent=False, side_effects=side_effects, transient=False
            )
        except _NotSent as exc:
            ctx.log(f"unreachable: {exc}", "warning")
            return failure_outcome(
                f"MCP server {self.name} is unreachable: {exc}",
                "unreachable",
                sent=False,
                side_effects=side_effects,
            )
        except Exception as exc:
            failure = "timeout" if _timed_out(exc) else "disconnected" if sent else "unreachable"
            message = (
                f"{tool.name} gave no answer within {timeout:g} seconds"
                if failure == "timeout"
                else f"MCP server {self.name} failed: {_describe(exc)}"
            )
            ctx.log(f"{failure}: {message}", "warning")
            return failure_outcome(message, failure, sent=sent, side_effects=side_effects)
        outcome = _outcome(result, auth)
        ctx.log(f"{'error' if outcome.is_error else 'ok'}, {len(outcome.content)} characters")
        return outcome


@asynccontextmanager
async def _session(
    spec: ServiceSpec, access: ServiceAccess, auth: RequestAuth
) -> AsyncIterator[tuple[ClientSession, str]]:
    """An initialized session with `spec`'s server, and the server's name and version.
    FetchRefused if the host rules forbid it, _NotSent if it does not start."""
    import asyncio

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    from haymaker.integrations.transport import check_endpoint, vetted_client

    assert spec.url is not None
    policy = host_policy(spec)
    await check_endpoint(spec.url, policy, access.resolver)
    started = False
    try:
        async with (
            vetted_client(policy, auth.headers, spec.timeout_seconds, access.resolver) as client,
            streamable_http_client(spec.url, http_client=client) as (read, write),
            ClientSession(read, write, read_timeout_seconds=spec.timeout_seconds) as session,
        ):
            async with asyncio.timeout(spec.timeout_seconds):
                initialized = await session.initialize()
            started = True
            info = initialized.server_info
            yield session, f"{info.name} {info.version}".strip()
    except BaseExceptionGroup as group:
        # The transport's task group wraps what went wrong; one cause is enough.
        cause = _first_cause(group)
        if not started:
            raise _NotSent(_describe(cause)) from None
        raise cause from None
    except Exception as exc:
        if not started:
            raise _NotSent(_describe(exc)) from None
        raise


def _first_cause(group: BaseExceptionGroup) -> Exception:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_cause(exc)
        if isinstance(exc, Exception):
            return exc
    raise group


async def _every_tool(session: ClientSession) -> list[Any]:
    from mcp import types

    tools: list[Any] = []
    cursor: str | None = None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor or len(tools) > 10 * MAX_LISTED:
            return tools


def _tool(tool: Any) -> McpTool:
    schema = dict(tool.input_schema or {})
    schema.setdefault("type", "object")
    if schema["type"] != "object":
        schema = {"type": "object", "properties": {}}
    annotations = tool.annotations
    return McpTool(
        name=tool.name,
        description=tool.description or "",
        input_schema=schema,
        output_schema=tool.output_schema,
        read_only_hint=annotations.read_only_hint if annotations is not None else None,
    )


def _outcome(result: Any, auth: RequestAuth) -> ToolOutcome:
    texts = [_content_text(block) for block in result.content]
    structured = result.structured_content
    text = "\n".join(part for part in texts if part)
    if not text and structured is not None:
        text = json.dumps(structured, ensure_ascii=False)
    text = auth.scrub(text or "(no output)")
    data = None
    if structured is not None:
        data = json.loads(auth.scrub(json.dumps(structured, ensure_ascii=False)))
    return ToolOutcome(content=text, is_error=bool(result.is_error), data=data)


def _content_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return block.text
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, not shown]"
    if kind == "resource":
        contents = block.resource
        text = getattr(contents, "text", None)
        return text if text is not None else f"[resource {contents.uri}, not shown]"
    if kind == "resource_link":
        return f"[resource {block.uri}: {block.name}]"
    return f"[{kind or 'unknown'} content, not shown]"


def _timed_out(exc: BaseException) -> bool:
    from mcp import MCPError
    from mcp.types import REQUEST_TIMEOUT

    if isinstance(exc, TimeoutError):
        return True
    return isinstance(exc, MCPError) and exc.code == REQUEST_TIMEOUT


def _describe(exc: BaseException) -> str:
    """A failure in words without request details (headers may hold credentials)."""
    import httpx2
    from mcp import MCPError

    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
        return f"could not connect ({exc})" if str(exc) else "could not connect"
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx2.HTTPError):
        return f"the connection failed ({type(exc).__name__})"
    if isinstance(exc, MCPError):
        return f"{exc.message} (MCP error {exc.code})"
    return type(exc).__name__
