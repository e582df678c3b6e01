"""A registered OpenAPI service as a tool source: one tool per compiled operation. A call
fills the path template and query from the arguments, sends the JSON body, and answers with
the response: its status and body as the content (cut for the model, the whole text kept),
parsed JSON as `data`, an HTTP error status as an error outcome. Requests go through
http_fetch's client, so the same host rules and vetted addresses apply.

GET, HEAD and OPTIONS are side-effect free (unless the service says otherwise, `read_only`
lists more); every other operation is side-effecting: the agent runtime records it in the
ledger before it runs and asks for approval where the service's `approval` says so."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from haymaker.integrations.access import ServiceAccess, failure_outcome, host_policy
from haymaker.integrations.credentials import RequestAuth
from haymaker.integrations.models import (
    OpenApiListing,
    OpenApiOperation,
    OpenApiParameter,
    ServiceRecord,
)
from haymaker.integrations.service_source import ServiceToolSource, needs_approval
from haymaker.llm.tools import ToolSpec
from haymaker.tools.builtin.netpolicy import FetchRefused
from haymaker.tools.context import ToolContext
from haymaker.tools.outcome import ToolOutcome
from haymaker.tools.source import ToolInfo

USER_AGENT = "haymaker-integrations/1"
JSON_TYPES = ("application/json",)


def listing_of(record: ServiceRecord, access: ServiceAccess) -> OpenApiListing:
    """What a deployment keeps of a registered OpenAPI service when it first uses it."""
    if record.api is None:
        raise ValueError(f"service {record.spec.name} is not an OpenAPI service")
    return OpenApiListing(spec=record.spec, listed_at=access.clock(), api=record.api)


class OpenApiToolSource(ServiceToolSource):
    kind = "service"

    def __init__(self, listing: OpenApiListing, access: ServiceAccess) -> None:
        super().__init__(listing.spec, access)
        self.listing = listing
        self._operations = {op.tool: op for op in listing.api.operations}
        self._infos = {
            op.tool: ToolInfo(
                spec=ToolSpec(
                    name=op.tool, description=op.description, input_schema=op.input_schema
                ),
                source=self.name,
                side_effects=op.side_effects,
                requires_approval=needs_approval(self.spec.approval, op.side_effects),
            )
            for op in listing.api.operations
        }

    def _refused(self, name: str, arguments: Mapping[str, Any]) -> str | None:
        for header, value in _header_values(self._operations[name], arguments).items():
            if not (value.isascii() and value.isprintable()):
                return f"{header} must be ASCII text"
        return None

    async def _send(
        self,
        name: str,
        arguments: dict[str, Any],
        auth: RequestAuth,
        info: ToolInfo,
        ctx: ToolContext,
    ) -> ToolOutcome:
        return await self._request(self._operations[name], arguments, auth, ctx)

    async def _request(
        self,
        operation: OpenApiOperation,
        arguments: dict[str, Any],
        auth: RequestAuth,
        ctx: ToolContext,
    ) -> ToolOutcome:
        from haymaker.tools.builtin.http_client import FetchFailed, fetch

        url = request_url(self.listing.api.base_url, operation, arguments, auth.query)
        headers = {"Accept": "application/json, */*;q=0.5", "User-Agent": USER_AGENT}
        headers.update(_header_values(operation, arguments))
        body = None
        if operation.body_argument is not None and operation.body_argument in arguments:
            body = json.dumps(arguments[operation.body_argument]).encode()
            headers["Content-Type"] = "application/json"
        headers.update(auth.headers)
        base = urlsplit(self.listing.api.base_url)
        what = f"{operation.method} {base.hostname}{base.path.rstrip('/')}{operation.path}"
        side_effects = operation.side_effects
        try:
            response = await fetch(
                url,
                method=operation.method,
                headers=headers,
                max_bytes=ctx.limits.fetch_max_bytes,
                policy=host_policy(self.spec),
                max_redirects=ctx.limits.fetch_max_redirects,
                timeout_seconds=self.spec.timeout_seconds,
                resolver=self._access.resolver,
                body=body,
            )
        except FetchRefused as exc:
            message = auth.scrub(str(exc))
            ctx.log(f"{what} refused: {message}", "warning")
            return failure_outcome(
                f"refused: {message}",
                "refused",
                sent=False,
                side_effects=side_effects,
                transient=False,
            )
        except FetchFailed as exc:
            message = auth.scrub(str(exc))
            ctx.log(f"{what} failed: {message}", "warning")
            failure = "timeout" if exc.timed_out else "disconnected" if exc.sent else "unreachable"
            return failure_outcome(
                f"{what} failed: {message}", failure, sent=exc.sent, side_effects=side_effects
            )
        ctx.log(f"{what}: HTTP {response.status}, {len(response.body)} bytes")
        return _outcome(response, auth)


def request_url(
    base_url: str,
    operation: OpenApiOperation,
    arguments: Mapping[str, Any],
    auth_query: Mapping[str, str],
) -> str:
    """The operation's URL with its path parameters filled and its query added."""
    path = operation.path
    query: list[tuple[str, str]] = []
    for parameter in operation.parameters:
        if parameter.argument not in arguments:
            continue
        value = arguments[parameter.argument]
        if parameter.location == "path":
            path = path.replace("{" + parameter.name + "}", quote(_simple(value), safe=""))
        elif parameter.location == "query":
            query += _query_pairs(parameter, value)
    query += list(auth_query.items())
    return (
        base_url.rstrip("/") + path + (("?" + urlencode(query, quote_via=quote)) if query else "")
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _simple(value: Any) -> str:
    """OpenAPI's `simple` style (path and header parameters)."""
    if isinstance(value, list):
        return ",".join(_scalar(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key},{_scalar(item)}" for key, item in value.items())
    return _scalar(value)


def _query_pairs(parameter: OpenApiParameter, value: Any) -> list[tuple[str, str]]:
    """OpenAPI's `form` style (explode by default) and `deepObject` for objects."""
    style = parameter.style or "form"
    explode = parameter.explode if parameter.explode is not None else style == "form"
    name = parameter.name
    if isinstance(value, list):
        if explode:
            return [(name, _scalar(item)) for item in value]
        separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
        return [(name, separator.join(_scalar(item) for item in value))]
    if isinstance(value, dict):
        if style == "deepObject":
            return [(f"{name}[{key}]", _scalar(item)) for key, item in value.items()]
        if explode:
            return [(str(key), _scalar(item)) for key, item in value.items()]
        return [(name, ",".join(f"{key},{_scalar(item)}" for key, item in value.items()))]
    return [(name, _scalar(value))]


def _header_values(operation: OpenApiOperation, arguments: Mapping[str, Any]) -> dict[str, str]:
    return {
        parameter.name: _simple(arguments[parameter.argument])
        for parameter in operation.parameters
        if parameter.location == "header" and parameter.argument in arguments
    }


def _outcome(response: Any, auth: RequestAuth) -> ToolOutcome:
    size = f"{len(response.body)} bytes" + (
        " (stopped reading at the size limit)" if response.body_truncated else ""
    )
    status = f"HTTP {response.status} {response.reason}".strip()
    kind = response.content_type or "no content type"
    text = auth.scrub(response.body.decode(response.charset or "utf-8", errors="replace"))
    data: dict[str, Any] = {
        "status": response.status,
        "content_type": response.content_type,
        "bytes_read": len(response.body),
        "body_truncated": response.body_truncated,
    }
    is_json = response.content_type in JSON_TYPES or response.content_type.endswith("+json")
    if is_json and text and not response.body_truncated:
        with contextlib.suppress(ValueError):
            data["json"] = json.loads(text)
    textual = is_json or response.content_type.startswith("text/") or not response.content_type
    shown = text if textual else "(binary content, not shown)" if response.body else ""
    content = f"{status} · {kind} · {size}" + (f"\n\n{shown}" if shown else "")
    return ToolOutcome(content=content, is_error=response.status >= 400, data=data)
