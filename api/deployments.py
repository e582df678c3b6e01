"""Deployment lifecycle endpoints: deploy, list, status, logs, stop, start, cleanup."""

import logging

import azure.durable_functions as df
import azure.functions as func

from api.auth import Role, authorize, caller_key
from api.http import (
    base_url,
    json_response,
    problem_responses,
    query_bool,
    query_int,
    query_str,
    read_body,
)
from api.schemas import CleanupPreview, DeployAccepted, DeploymentList, LogPage, Purged
from haymaker import keys
from haymaker.errors import BadRequestError, ServiceUnavailableError
from haymaker.models import DeploymentConfig, DeploymentStatus
from haymaker.runtime import get_runtime
from haymaker.schedules.store import schedule_id
from haymaker.store.logs import MAX_LOG_CURSOR
from haymaker.store.ratelimits import RateLimiter
from haymaker.store.tables import decode_continuation
from haymaker.transitions import Command
from runs.orchestration import notify, start_run
from runs.services import retention_for

logger = logging.getLogger("haymaker.api")

bp = df.Blueprint()


@bp.route(route="deployments", methods=["GET", "POST"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def deployments(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    if req.method == "POST":
        authorize(req, Role.OPERATOR)
        return await _create(req, client)
    authorize(req, Role.READER)
    return await _list(req)


async def _create(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    runtime = get_runtime()
    lifecycle = runtime.lifecycle()
    request = read_body(req, DeploymentConfig)
    limit = runtime.settings.deploy_rate_limit
    await RateLimiter(runtime.stores().tables).take(
        caller_key(req), "deploy", limit, runtime.clock()
    )
    record = await lifecycle.create(request)
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
    workload = query_str(req, "workload")
    if workload is not None:
        keys.workload_name(workload)
    status = query_str(req, "status")
    if status is not None and status not in {s.value for s in DeploymentStatus}:
        allowed = ", ".join(s.value for s in DeploymentStatus)
        raise BadRequestError(f"status must be one of {allowed}")
    limit = query_int(req, "limit", 50, minimum=1, maximum=1000)
    schedule = query_str(req, "schedule_id")
    if schedule is not None:
        schedule_id(schedule)
    page = (
        await get_runtime()
        .stores()
        .deployments.list(
            workload=workload,
            status=DeploymentStatus(status) if status else None,
            schedule_id=schedule,
            limit=limit or 50,
            continuation=query_str(req, "continuation"),
        )
    )
    return json_response(DeploymentList(items=page.items, continuation=page.continuation))


@bp.route(route="deployments/{deployment_id}", methods=["GET", "DELETE"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def deployment(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    deployment_id = keys.deployment_id(req.route_params["deployment_id"])
    if req.method == "DELETE":
        authorize(req, Role.ADMIN)
        report = await retention_for(client).purge(deployment_id)
        return json_response(
            Purged(
                deployment_id=deployment_id,
                log_lines=report.log_lines,
                resource_records=report.resource_records,
            )
        )
    authorize(req, Role.READER)
    record = await get_runtime().stores().deployments.get(deployment_id)
    return json_response(record.state)


@bp.route(route="deployments/{deployment_id}/logs", methods=["GET"])
@problem_responses
async def deployment_logs(req: func.HttpRequest) -> func.HttpResponse:
    authorize(req, Role.READER)
    stores = get_runtime().stores()
    record = await stores.deployments.get(req.route_params["deployment_id"])
    after = query_int(req, "after", None, minimum=-1, maximum=MAX_LOG_CURSOR)
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


def _dry_run_page(req: func.HttpRequest) -> tuple[int, str | None] | None:
    """Cleanup's dry-run page (limit, continuation), or None for a real cleanup. Every
    parameter is checked either way: a bad one is an error even where it is unused."""
    dry_run = query_bool(req, "dry_run")
    limit = query_int(req, "limit", 1000, minimum=1, maximum=1000) or 1000
    continuation = query_str(req, "continuation")
    decode_continuation(continuation)
    return (limit, continuation) if dry_run else None


# The constraint keeps other sub-paths (logs) out of this route, so they get a plain 404/405.
@bp.route(
    route="deployments/{deployment_id}/{command:regex(^(stop|start|cleanup)$)}", methods=["POST"]
)
@bp.durable_client_input(client_name="client")
@problem_responses
async def deployment_command(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    deployment_id = keys.deployment_id(req.route_params["deployment_id"])
    command = Command(req.route_params["command"].lower())
    authorize(req, Role.OPERATOR)
    lifecycle = get_runtime().lifecycle()
    page = _dry_run_page(req) if command is Command.CLEANUP else None
    if page is not None:
        limit, continuation = page
        preview = await lifecycle.preview_cleanup(
            deployment_id, limit=limit, continuation=continuation
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
