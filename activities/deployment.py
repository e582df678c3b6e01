"""The deployment orchestration's activities. Each takes one contract as a JSON object and
returns one, and delegates to `haymaker.execution.Executor`; each runs as a span of the
deployment's trace (the request's traceparent). The core is imported on the first call, so
importing the app stays cheap (bench/cold_start.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from haymaker import telemetry, tracing

if TYPE_CHECKING:
    from haymaker.contracts import DeploymentView, Traced
    from haymaker.runtime import Runtime

bp = df.Blueprint()

telemetry.install()
logger = logging.getLogger("haymaker.activities")


@bp.activity_trigger(input_name="payload")
async def reconcile_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import ReconcileRequest

    request = ReconcileRequest.model_validate(payload)
    with _activity("reconcile", request) as (runtime, span):
        view = await runtime.executor().reconcile(request)
        _outcome(span, view)
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def run_deployment_step(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import StepRequest

    request = StepRequest.model_validate(payload)
    with _activity("step", request, step=request.step) as (runtime, span):
        view = await runtime.executor().run_step(request)
        _outcome(span, view)
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def cleanup_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import CleanupRequest

    request = CleanupRequest.model_validate(payload)
    with _activity("cleanup", request, phase="cleanup") as (runtime, span):
        progress = await runtime.executor().cleanup(request)
        _outcome(span, progress.view)
    return progress.to_payload()


@bp.activity_trigger(input_name="payload")
async def finish_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import FinishRequest

    request = FinishRequest.model_validate(payload)
    with _activity("finish", request) as (runtime, span):
        view = await runtime.executor().finish(request)
        _outcome(span, view)
    return view.to_payload()


@contextmanager
def _activity(name: str, request: Traced, **attributes: Any) -> Iterator[tuple[Runtime, Any]]:
    """Log records carry the deployment (an orchestration's instance id is its id) and the
    trace; the activity is a span of the deployment's trace."""
    from haymaker.runtime import get_runtime

    deployment_id = getattr(request, "deployment_id", None)
    runtime = get_runtime()  # first: it switches tracing on when the settings ask for it
    with (
        telemetry.log_context(
            deployment_id=deployment_id,
            instance_id=deployment_id,
            trace_id=tracing.trace_id_of(request.traceparent),
            **attributes,
        ),
        tracing.span(
            f"deployment.{name}",
            parent=request.traceparent,
            attributes={"haymaker.deployment_id": deployment_id, **_prefixed(attributes)},
        ) as span,
    ):
        yield runtime, span


def _prefixed(attributes: dict[str, Any]) -> dict[str, Any]:
    return {f"haymaker.{key}": value for key, value in attributes.items()}


def _outcome(span: Any, view: DeploymentView) -> None:
    tracing.set_attributes(
        span, {"haymaker.status": view.status.value, "haymaker.phase": view.phase}
    )
