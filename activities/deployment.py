"""The deployment orchestration's activities. Each takes one contract as a JSON object and
returns one, and delegates to `haymaker.execution.Executor`."""

import logging
from typing import Any

import azure.durable_functions as df

from haymaker import telemetry
from haymaker.contracts import CleanupRequest, FinishRequest, ReconcileRequest, StepRequest
from haymaker.runtime import get_runtime
from haymaker.telemetry import log_context

bp = df.Blueprint()


telemetry.install()
logger = logging.getLogger("haymaker.activities")


@bp.activity_trigger(input_name="payload")
async def reconcile_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    request = ReconcileRequest.model_validate(payload)
    with log_context(deployment_id=request.deployment_id, instance_id=request.deployment_id):
        view = await get_runtime().executor().reconcile(request)
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def run_deployment_step(payload: dict[str, Any]) -> dict[str, Any]:
    request = StepRequest.model_validate(payload)
    with log_context(deployment_id=request.deployment_id, instance_id=request.deployment_id):
        view = await get_runtime().executor().run_step(request)
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def cleanup_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    request = CleanupRequest.model_validate(payload)
    with log_context(
        deployment_id=request.deployment_id, instance_id=request.deployment_id, phase="cleanup"
    ):
        progress = await get_runtime().executor().cleanup(request)
    return progress.to_payload()


@bp.activity_trigger(input_name="payload")
async def finish_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    request = FinishRequest.model_validate(payload)
    with log_context(deployment_id=request.deployment_id, instance_id=request.deployment_id):
        view = await get_runtime().executor().finish(request)
    return view.to_payload()
