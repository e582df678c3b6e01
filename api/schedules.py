"""Schedule endpoints: create, list, show, change, delete and run-now."""

import azure.durable_functions as df
import azure.functions as func

from api.auth import Role, authorize
from api.http import (
    base_url,
    json_response,
    problem_responses,
    query_bool,
    query_int,
    query_str,
    read_body,
)
from api.schemas import DeployAccepted, ScheduleDeleted, ScheduleList, ScheduleView
from haymaker import keys
from haymaker.errors import IllegalTransitionError
from haymaker.models import DeploymentStatus
from haymaker.runtime import get_runtime
from haymaker.schedules.models import ScheduleSpec, ScheduleUpdate
from haymaker.schedules.scheduler import Scheduler
from haymaker.schedules.store import schedule_id
from haymaker.transitions import Command
from runs.orchestration import notify
from runs.services import scheduler_for

bp = df.Blueprint()


def _view(scheduler: Scheduler, state) -> ScheduleView:
    return ScheduleView(**state.model_dump(), next_slots=scheduler.upcoming(state))


@bp.route(route="schedules", methods=["GET", "POST"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def schedules(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    scheduler = scheduler_for(client)
    if req.method == "POST":
        authorize(req, Role.ADMIN)
        state = await scheduler.create(read_body(req, ScheduleSpec))
        location = f"{base_url(req)}/{state.schedule_id}"
        return json_response(_view(scheduler, state), 201, headers={"Location": location})
    authorize(req, Role.READER)
    workload = query_str(req, "workload")
    if workload is not None:
        keys.workload_name(workload)
    enabled = query_bool(req, "enabled") if query_str(req, "enabled") is not None else None
    page = await scheduler.schedules.list(
        workload=workload,
        enabled=enabled,
        limit=query_int(req, "limit", 50, minimum=1, maximum=1000) or 50,
        continuation=query_str(req, "continuation"),
    )
    return json_response(ScheduleList(items=page.items, continuation=page.continuation))


@bp.route(route="schedules/{schedule_id}", methods=["GET", "PATCH", "DELETE"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def schedule(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    scheduler = scheduler_for(client)
    identifier = schedule_id(req.route_params["schedule_id"])
    authorize(req, Role.READER if req.method == "GET" else Role.ADMIN)
    if req.method == "PATCH":
        state = await scheduler.update(identifier, read_body(req, ScheduleUpdate))
        return json_response(_view(scheduler, state))
    if req.method == "DELETE":
        stopped = (
            await _stop_runs(client, scheduler, identifier) if query_bool(req, "stop_runs") else []
        )
        await scheduler.delete(identifier)
        return json_response(ScheduleDeleted(schedule_id=identifier, stopped=stopped))
    state = (await scheduler.schedules.get(identifier)).state
    return json_response(_view(scheduler, state))


async def _stop_runs(
    client: df.DurableOrchestrationClient, scheduler: Scheduler, identifier: str
) -> list[str]:
    lifecycle = get_runtime().lifecycle()
    stopped = []
    for deployment_id in await scheduler.active_runs(identifier):
        try:
            outcome = await lifecycle.command(deployment_id, Command.STOP)
        except IllegalTransitionError:
            continue  # finished or cleaning up meanwhile: nothing to stop
        if outcome.accepted:
            await notify(client, outcome.record, was_finished=outcome.record.state.is_terminal)
        stopped.append(deployment_id)
    return stopped


@bp.route(route="schedules/{schedule_id}/trigger", methods=["POST"])
@bp.durable_client_input(client_name="client")
@problem_responses
async def schedule_trigger(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    authorize(req, Role.ADMIN)
    scheduler = scheduler_for(client)
    deployment_id = await scheduler.trigger(schedule_id(req.route_params["schedule_id"]))
    status_url = f"{base_url(req).split('/schedules/', 1)[0]}/deployments/{deployment_id}"
    accepted = DeployAccepted(
        deployment_id=deployment_id, status=DeploymentStatus.PENDING, status_url=status_url
    )
    return json_response(accepted, 202, headers={"Location": status_url})
