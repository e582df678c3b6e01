"""The deployment orchestration's activities. Each takes one contract as a JSON object and
returns one, and delegates to `haymaker.execution.Executor`. The core is imported on the
first call, so importing the app stays cheap (bench/cold_start.py)."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

import azure.durable_functions as df

from haymaker import telemetry

bp = df.Blueprint()

telemetry.install()
logger = logging.getLogger("haymaker.activities")


@bp.activity_trigger(input_name="payload")
async def reconcile_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import ReconcileRequest
    from haymaker.runtime import get_runtime

    request = ReconcileRequest.model_validate(payload)
    with _context(request.deployment_id):
        view = await get_runtime().executor().reconcile(request)
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def run_deployment_step(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import StepRequest
    from haymaker.runtime import get_runtime

    request = StepRequest.model_validate(payload)
    with _context(request.deployment_id):
        view = await get_runtime().executor().run_step(request)
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def cleanup_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import CleanupRequest
    from haymaker.runtime import get_runtime

    request = CleanupRequest.model_validate(payload)
    with _context(request.deployment_id, phase="cleanup"):
        progress = await get_runtime().executor().cleanup(request)
    return progress.to_payload()


@bp.activity_trigger(input_name="payload")
async def finish_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    from haymaker.contracts import FinishRequest
    from haymaker.runtime import get_runtime

    request = FinishRequest.model_validate(payload)
    with _context(request.deployment_id):
        view = await get_runtime().executor().finish(request)
    return view.to_payload()


def _context(deployment_id: str, **fields: str) -> AbstractContextManager[None]:
    """Log records carry the deployment (an orchestration's instance id is its id)."""
    return telemetry.log_context(deployment_id=deployment_id, instance_id=deployment_id, **fields)
