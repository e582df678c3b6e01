"""Structured log lines: every record logged while a deployment is being handled carries its
deployment_id, instance_id and phase, both as record attributes (custom dimensions for an
OpenTelemetry/Azure Monitor exporter, if one is enabled) and as a `key=value` suffix of the
message (what the Functions host forwards to Application Insights as the trace text).

While tracing is on (haymaker.tracing), records also carry `trace_id` and `span_id` of the
span in progress; while it is off, `trace_id` is still the deployment's (from its stored
traceparent), so its log lines and its spans, once switched on, are found by one id."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from haymaker import tracing

FIELDS = ("deployment_id", "instance_id", "phase")
# Never mutated in place: every change sets a new mapping, so tasks never see each other's.
_context: ContextVar[Mapping[str, str]] = ContextVar(
    "haymaker_log_context", default=MappingProxyType({})
)
_installed = False


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Within the block (and the tasks it starts), log records carry these fields."""
    token = _context.set(
        {**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    )
    try:
        yield
    finally:
        _context.reset(token)


def set_phase(phase: str) -> None:
    """Refine the current context once the phase is known (inside a log_context block)."""
    _context.set({**_context.get(), "phase": phase})


def install() -> None:
    """Wrap the log record factory once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()
    # Bound here, not looked up per record: a record made while the interpreter shuts down
    # (a connector's __del__ logging) finds module globals already set to None.
    current_ids, context, names = tracing.current_ids, _context, FIELDS

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        ids = current_ids()
        if ids is not None:
            record.trace_id, record.span_id = ids
        fields = context.get()
        if fields:
            for name, value in fields.items():
                if not hasattr(record, name):
                    setattr(record, name, value)
            suffix = " ".join(f"{name}={fields[name]}" for name in names if name in fields)
            record.msg = (
                f"{record.msg} [{suffix.replace('%', '%%')}]"
                if record.args
                else f"{record.msg} [{suffix}]"
            )
        return record

    logging.setLogRecordFactory(factory)
