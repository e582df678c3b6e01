"""http_fetch: GET or HEAD a URL within the deployment's allowed hosts (netpolicy's rules),
read at most a size limit within a time limit, and answer with the status, content type and
the text (HTML reduced to its readable text and link targets). Side-effect free."""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from haymaker.tools.builtin.html_text import html_to_text
from haymaker.tools.builtin.netpolicy import FetchRefused, HostPolicy
from haymaker.tools.context import ToolContext
from haymaker.tools.function import Tool, tool
from haymaker.tools.outcome import ToolError, ToolOutcome

if TYPE_CHECKING:
    from haymaker.tools.builtin.http_client import FetchResponse, ResolverFactory

DEFAULT_MAX_BYTES = 100_000
MAX_URL_CHARS = 2048
MAX_HEADERS = 20
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/x-ndjson"}
)


def make_http_fetch(*, name: str = "http_fetch", resolver: ResolverFactory | None = None) -> Tool:
    """The http_fetch tool; `resolver` makes the aiohttp resolver that answers name lookups
    (default: the system's), so tests can point names at addresses of their choosing."""

    async def http_fetch(
        url: Annotated[
            str, Field(min_length=1, max_length=MAX_URL_CHARS, description="An http(s) URL")
        ],
        ctx: ToolContext,
        method: Annotated[
            Literal["GET", "HEAD"], Field(description="HEAD: the status and type only")
        ] = "GET",
        headers: Annotated[
            dict[str, str],
            Field(
                max_length=MAX_HEADERS,
                description="Request headers (e.g. Authorization), sent only to this URL's "
                "origin and never shown back",
            ),
        ] = {},  # noqa: B006 - pydantic copies defaults
        max_bytes: Annotated[
            int, Field(ge=1, description="Stop reading the body after this many bytes")
        ] = DEFAULT_MAX_BYTES,
    ) -> ToolOutcome:
        """Fetch a web page or HTTP API with GET or HEAD. HTML comes back as its readable
        text, each link followed by its target in brackets; other text as it is. An HTTP
        error status is an error result."""
        from haymaker.tools.builtin.http_client import FetchFailed, fetch

        host = _host_for_log(url)
        try:
            response = await fetch(
                url,
                method=method,
                headers=headers,
                max_bytes=min(max_bytes, ctx.limits.fetch_max_bytes),
                policy=HostPolicy(ctx.allowed_hosts),
                max_redirects=ctx.limits.fetch_max_redirects,
                timeout_seconds=ctx.limits.fetch_timeout_seconds,
                resolver=resolver,
            )
        except FetchRefused as exc:
            ctx.log(f"{method} {host} refused: {exc}", "warning")
            raise ToolError(f"refused: {exc}") from None
        except FetchFailed as exc:
            ctx.log(f"{method} {host} failed: {exc}", "warning")
            raise ToolError(f"failed: {exc}") from None
        ctx.log(f"{method} {host}: HTTP {response.status}, {len(response.body)} bytes")
        return fetch_outcome(response, method)

    return tool(name=name)(http_fetch)


def fetch_outcome(response: FetchResponse, method: str) -> ToolOutcome:
    size = f"{len(response.body)} bytes"
    if response.body_truncated:
        size += " (stopped reading at the size limit)"
    status = f"HTTP {response.status} {response.reason}".strip()
    lines = [f"{status} · {response.content_type} · {size}", f"URL: {response.url}"]
    if response.redirects:
        lines.append(f"Redirected from: {response.redirects[0]}")
    text = ""
    if method != "HEAD":
        title, text = _body_text(response)
        if title:
            lines.append(f"Title: {title}")
    data: dict[str, Any] = {
        "url": response.url,
        "status": response.status,
        "content_type": response.content_type,
        "bytes_read": len(response.body),
        "body_truncated": response.body_truncated,
        "redirects": response.redirects,
    }
    content = "\n".join(lines) + (f"\n\n{text}" if text else "")
    return ToolOutcome(content=content, is_error=response.status >= 400, data=data)


def _host_for_log(url: str) -> str:
    """The host alone: a path or query may hold a token."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _body_text(response: FetchResponse) -> tuple[str, str]:
    """(title, text) of the body; binary content is only described."""
    kind = response.content_type
    textual = kind.startswith("text/") or kind in TEXT_TYPES or kind.endswith(("+json", "+xml"))
    if kind not in HTML_TYPES and not textual:
        return "", "(binary content, not shown)" if response.body else ""
    decoded = response.body.decode(_codec(response.charset), errors="replace")
    if kind in HTML_TYPES:
        return html_to_text(decoded, response.url)
    return "", decoded


def _codec(charset: str | None) -> str:
    try:
        return codecs.lookup(charset or "utf-8").name
    except LookupError:
        return "utf-8"


http_fetch = make_http_fetch()
