"""Switching tracing on, once per process, with the exporter HAYMAKER_TRACING names:

- `off` (the default): nothing is imported, nothing is recorded.
- `azure_monitor`: the Azure Monitor distro (`azure-monitor-opentelemetry`) to the
  Application Insights of APPLICATIONINSIGHTS_CONNECTION_STRING, signing in with the app's
  managed identity (AZURE_CLIENT_ID), as the Bicep's App Insights has local auth off; its
  logging handler sends log records too, with their trace and span ids.
- `otlp`: the SDK with the OTLP/HTTP exporter, configured by the standard OTEL_EXPORTER_OTLP_*
  variables (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318).

Either way the Azure SDKs' own spans (Table calls, Event Grid) are switched on, and spans
are exported in batches off the request path.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from haymaker import tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

TracingMode = Literal["off", "azure_monitor", "otlp"]
SERVICE_NAME = "haymaker-functions"
logger = logging.getLogger("haymaker.tracing")

_configured: str | None = None


def configure(
    mode: TracingMode,
    *,
    connection_string: str | None = None,
    client_id: str | None = None,
) -> None:
    """Set up the exporter for `mode` (a second call does nothing)."""
    global _configured
    if _configured is not None or mode == "off":
        return
    _configured = mode
    if mode == "azure_monitor":
        _azure_monitor(connection_string, client_id)
    else:
        _otlp()
    _azure_sdk_spans()
    tracing.set_enabled(True)
    logger.info("tracing on: %s", mode)


def _azure_monitor(connection_string: str | None, client_id: str | None) -> None:
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(
        connection_string=connection_string,
        credential=ManagedIdentityCredential(client_id=client_id),
        resource=_resource(),
        logger_name="haymaker",
    )


def _otlp() -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def _resource():  # type: ignore[no-untyped-def]
    from opentelemetry.sdk.resources import Resource

    return Resource.create({"service.name": SERVICE_NAME})


def _azure_sdk_spans() -> None:
    """azure-core's native OpenTelemetry spans for every Azure SDK call."""
    from azure.core.settings import settings

    settings.tracing_enabled = True


def use_provider(provider: TracerProvider) -> None:
    """Record into `provider` (tests: an SDK provider with an in-memory exporter)."""
    from opentelemetry import trace

    trace.set_tracer_provider(provider)
    _azure_sdk_spans()
    tracing.set_enabled(True)
