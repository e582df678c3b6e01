"""Deployment lifecycle endpoints: deploy, list, status, logs, stop, start, cleanup."""

import logging

import azure.durable_functions as df
import azure.functions as func

from api.http import (
    base_url,
    json_response,
    problem_responses,
    query_bool,
    query_int,
    read_body,
)
from api.orchestration import notify, start_run
from api.schemas import CleanupPreview, DeployAccepted, DeploymentList, LogPage
from haymaker import keys
from haymaker.errors import BadRequestError, NotFoundError, ServiceUnavailableError
from haymaker.lifecycle import Lifecycle
from haymaker.models import DeploymentConfig, DeploymentStatus
from haymaker.schedules.store import schedule_id
from haymaker.store import get_stores
from haymaker.transitions import Command
from haymaker.workloads.registry import get_registry

logger = logging.getLogger("haymaker.api")

bp = df.Blueprint()


def _lifecycle() -> Lifecycle:
    return Lifecycle(get_stores(), get_registry())


@bp.route(route="deployments", methods=["GET", "POST"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def deployments(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    if req.method == "POST":
        return await _create(req, client)
    return await _list(req)


async def _create(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    lifecycle = _lifecycle()
    record = await lifecycle.create(read_body(req, DeploymentConfig))
    try:
        await start_run(client, record.deployment_id)
    except Exception as exc:
        logger.exception("orchestration of %s did not start", record.deployment_id)
        await lifecycle.fail_unstarted(
            record.deployment_id, f"its orchestration did not start: {exc}"
        )
        raise ServiceUnavailableError(
            f"deployment {record.deployment_id} was recorded but its orchestration did not start; "
            "it is marked failed"
        ) from exc
    status_url = f"{base_url(req)}/{record.deployment_id}"
    accepted = DeployAccepted(
        deployment_id=record.deployment_id, status=record.state.status, status_url=status_url
    )
    return json_response(accepted, 202, headers={"Location": status_url})


async def _list(req: func.HttpRequest) -> func.HttpResponse:
    workload = req.params.get("workload") or None
    if workload is not None:
        keys.workload_name(workload)
    status = req.params.get("status") or None
    if status is not None and status not in {s.value for s in DeploymentStatus}:
        allowed = ", ".join(s.value for s in DeploymentStatus)
        raise BadRequestError(f"status must be one of {allowed}")
    limit = query_int(req, "limit", 50, minimum=1, maximum=1000)
    schedule = req.params.get("schedule_id") or None
    if schedule is not None:
        schedule_id(schedule)
    page = await get_stores().deployments.list(
        workload=workload,
        status=DeploymentStatus(status) if status else None,
        schedule_id=schedule,
        limit=limit or 50,
        continuation=req.params.get("continuation") or None,
    )
    return json_response(DeploymentList(items=page.items, continuation=page.continuation))


@bp.route(route="deployments/{deployment_id}", methods=["GET"])
@problem_responses
async def deployment(req: func.HttpRequest) -> func.HttpResponse:
    record = await get_stores().deployments.get(req.route_params["deployment_id"])
    return json_response(record.state)


@bp.route(route="deployments/{deployment_id}/logs", methods=["GET"])
@problem_responses
async def deployment_logs(req: func.HttpRequest) -> func.HttpResponse:
    stores = get_stores()
    record = await stores.deployments.get(req.route_params["deployment_id"])
    after = query_int(req, "after", None, minimum=-1, maximum=10**12)
    tail = query_int(req, "tail", None, minimum=1, maximum=100_000)
    limit = query_int(req, "limit", 1000, minimum=1, maximum=1000) or 1000
    total = record.progress.log_count
    items = await stores.logs.read(
        record.deployment_id, total=total, after=after, tail=tail, limit=limit
    )
    cursor = items[-1].line if items else (after if after is not None else -1)
    return json_response(
        LogPage(deployment_id=record.deployment_id, items=items, cursor=cursor, total=total)
    )


@bp.route(route="deployments/{deployment_id}/{command}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def deployment_command(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    deployment_id = keys.deployment_id(req.route_params["deployment_id"])
    name = req.route_params["command"]
    if name not in Command.__members__.values():
        raise NotFoundError(f"no command {name!r}; use stop, start or cleanup")
    command = Command(name)
    lifecycle = _lifecycle()
    if command is Command.CLEANUP and query_bool(req, "dry_run"):
        preview = await lifecycle.preview_cleanup(
            deployment_id,
            limit=query_int(req, "limit", 1000, minimum=1, maximum=1000) or 1000,
            continuation=req.params.get("continuation") or None,
        )
        return json_response(
            CleanupPreview(
                deployment_id=deployment_id,
                would_delete=preview.resources,
                continuation=preview.continuation,
            )
        )
    outcome = await lifecycle.command(deployment_id, command)
    if not outcome.accepted:
        return json_response(outcome.record.state, 200)
    # A command changes only the desired status, so "finished" is as it was before it.
    await notify(client, outcome.record, was_finished=outcome.record.state.is_terminal)
    return json_response(outcome.record.state, 202)
