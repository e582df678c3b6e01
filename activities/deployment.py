"""The deployment orchestration's activities. Each takes one contract as a JSON object and
returns one, and delegates to `haymaker.execution.Executor`."""

from typing import Any

import azure.durable_functions as df

from haymaker.contracts import CleanupRequest, FinishRequest, ReconcileRequest, StepRequest
from haymaker.execution import Executor
from haymaker.store import get_stores
from haymaker.workloads.registry import get_registry

bp = df.Blueprint()


def _executor() -> Executor:
    return Executor(get_stores(), get_registry())


@bp.activity_trigger(input_name="payload")
async def reconcile_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    view = await _executor().reconcile(ReconcileRequest.model_validate(payload))
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def run_deployment_step(payload: dict[str, Any]) -> dict[str, Any]:
    view = await _executor().run_step(StepRequest.model_validate(payload))
    return view.to_payload()


@bp.activity_trigger(input_name="payload")
async def cleanup_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    progress = await _executor().cleanup(CleanupRequest.model_validate(payload))
    return progress.to_payload()


@bp.activity_trigger(input_name="payload")
async def finish_deployment(payload: dict[str, Any]) -> dict[str, Any]:
    view = await _executor().finish(FinishRequest.model_validate(payload))
    return view.to_payload()
