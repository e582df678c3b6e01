"""Tracing: one OpenTelemetry trace per deployment run.

The deploy request's `traceparent` (or a new one) is kept on the deployment and handed to
every activity in its request, so each activity's span, and the spans beneath it (LLM and
tool calls, Table and Graph calls, webhook deliveries), belong to the deployment's trace.

Nothing here imports OpenTelemetry until tracing is switched on (HAYMAKER_TRACING, see
haymaker.tracing.setup): while it is off, `span()` yields None at no cost, and a new
deployment still gets a well-formed traceparent of its own, so a later switch-on, or a
caller's trace, joins up.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opentelemetry.trace import Span

TRACER = "haymaker"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
Kind = Literal["internal", "server", "client", "producer", "consumer"]
AttributeValue = str | bool | int | float | list[str]

_enabled = False


def enabled() -> bool:
    """Whether spans are recorded (an exporter, or a test's provider, is set up)."""
    return _enabled


def set_enabled(value: bool) -> None:
    """Record spans from now on (setup.configure, or a test with its own provider)."""
    global _enabled
    _enabled = value


def valid_traceparent(value: str | None) -> str | None:
    """`value` if it is a W3C traceparent with non-zero ids, else None."""
    if not value:
        return None
    match = TRACEPARENT.fullmatch(value.strip().lower())
    if match is None or match[1] == _ZERO_TRACE or match[2] == _ZERO_SPAN:
        return None
    return match[0]


def trace_id_of(traceparent: str | None) -> str | None:
    match = TRACEPARENT.fullmatch(traceparent or "")
    return match[1] if match else None


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def current_traceparent() -> str | None:
    """The traceparent of the span in progress, if one is being recorded."""
    if not _enabled:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return valid_traceparent(carrier.get("traceparent"))


def traceparent_for_new_deployment(incoming: str | None = None) -> str:
    """What a new deployment keeps: the span in progress (the deploy request's), else the
    caller's traceparent, else a new trace."""
    return current_traceparent() or valid_traceparent(incoming) or new_traceparent()


@contextmanager
def span(
    name: str,
    *,
    parent: str | None = None,
    kind: Kind = "internal",
    attributes: Mapping[str, AttributeValue | None] | None = None,
) -> Iterator[Span | None]:
    """A span named `name`, current within the block: a child of `parent` (a traceparent)
    when given, else of the span in progress. Exceptions are recorded and re-raised. None
    while tracing is off."""
    if not _enabled:
        yield None
        return
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = None
    checked = valid_traceparent(parent)
    if checked is not None:
        context = TraceContextTextMapPropagator().extract({"traceparent": checked})
    given = {key: value for key, value in (attributes or {}).items() if value is not None}
    tracer = trace.get_tracer(TRACER)
    with tracer.start_as_current_span(
        name, context=context, kind=getattr(trace.SpanKind, kind.upper()), attributes=given
    ) as current:
        yield current


def set_attributes(current: Span | None, attributes: Mapping[str, Any]) -> None:
    """Set the attributes that are not None on `current` (a span from `span()`, or None)."""
    if current is None:
        return
    for key, value in attributes.items():
        if value is not None:
            current.set_attribute(key, value)


def mark_error(current: Span | None, error_type: str, message: str | None = None) -> None:
    """Flag `current` as failed without an exception (e.g. an HTTP 500 answer)."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    current.set_attribute("error.type", error_type)
    current.set_status(Status(StatusCode.ERROR, message))


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the span in progress, for log records."""
    if not _enabled:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
