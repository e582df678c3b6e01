"""Schedule endpoints: create, list, show, change, delete and run-now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.http import base_url
from api.operation import LOCATION, Operations, Reply, Response
from runs.orchestration import notify
from runs.services import scheduler_for

if TYPE_CHECKING:
    import azure.functions as func

    from api.schemas import (
        ScheduleDeleteQuery,
        ScheduleId,
        ScheduleQuery,
        ScheduleSpec,
        ScheduleUpdate,
        ScheduleView,
    )
    from haymaker.schedules.models import ScheduleState
    from haymaker.schedules.scheduler import Scheduler

bp = df.Blueprint()
http = Operations(bp, tag="schedules")


def _view(scheduler: Scheduler, state: ScheduleState) -> ScheduleView:
    from api.schemas import ScheduleView

    return ScheduleView(**state.model_dump(), next_slots=scheduler.upcoming(state))


@http.post(
    "schedules",
    "createSchedule",
    role=Role.ADMIN,
    responses={201: Response("ScheduleView", "Created", headers=LOCATION, link="schedule_id")},
    problems=(404,),
)
async def create_schedule(
    body: ScheduleSpec, req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> Reply:
    """Run a workload on an NCRONTAB schedule."""
    scheduler = scheduler_for(client)
    state = await scheduler.create(body)
    location = f"{base_url(req)}/{state.schedule_id}"
    return Reply(_view(scheduler, state), 201, headers={"Location": location})


@http.get(
    "schedules",
    "listSchedules",
    role=Role.READER,
    responses={200: Response("ScheduleList", "A page of schedules")},
    problems=(422,),
)
async def list_schedules(query: ScheduleQuery) -> Reply:
    """List schedules, a page at a time."""
    from api.schemas import ScheduleList
    from haymaker.runtime import get_runtime

    page = (
        await get_runtime()
        .stores()
        .schedules.list(
            workload=query.workload,
            enabled=query.enabled,
            limit=query.limit,
            continuation=query.continuation,
        )
    )
    return Reply(ScheduleList(items=page.items, continuation=page.continuation))


@http.get(
    "schedules/{schedule_id}",
    "getSchedule",
    role=Role.READER,
    responses={200: Response("ScheduleView", "The schedule")},
    problems=(404,),
)
async def get_schedule(schedule_id: ScheduleId, client: df.DurableOrchestrationClient) -> Reply:
    """A schedule, its next five slots and its recent runs."""
    scheduler = scheduler_for(client)
    state = (await scheduler.schedules.get(schedule_id)).state
    return Reply(_view(scheduler, state))


@http.patch(
    "schedules/{schedule_id}",
    "updateSchedule",
    role=Role.ADMIN,
    responses={200: Response("ScheduleView", "The changed schedule")},
    problems=(404, 409),
)
async def update_schedule(
    schedule_id: ScheduleId, body: ScheduleUpdate, client: df.DurableOrchestrationClient
) -> Reply:
    """Enable, disable, or change cron, time zone or config."""
    scheduler = scheduler_for(client)
    state = await scheduler.update(schedule_id, body)
    return Reply(_view(scheduler, state))


@http.delete(
    "schedules/{schedule_id}",
    "deleteSchedule",
    role=Role.ADMIN,
    responses={200: Response("ScheduleDeleted", "Deleted")},
    problems=(404,),
)
async def delete_schedule(
    schedule_id: ScheduleId, query: ScheduleDeleteQuery, client: df.DurableOrchestrationClient
) -> Reply:
    """Delete a schedule (optionally stopping its active runs)."""
    from api.schemas import ScheduleDeleted

    scheduler = scheduler_for(client)
    stopped = await _stop_runs(client, scheduler, schedule_id) if query.stop_runs else []
    await scheduler.delete(schedule_id)
    return Reply(ScheduleDeleted(schedule_id=schedule_id, stopped=stopped))


async def _stop_runs(
    client: df.DurableOrchestrationClient, scheduler: Scheduler, schedule_id: str
) -> list[str]:
    from haymaker.errors import IllegalTransitionError
    from haymaker.runtime import get_runtime
    from haymaker.transitions import Command

    lifecycle = get_runtime().lifecycle()
    stopped = []
    for deployment_id in await scheduler.active_runs(schedule_id):
        try:
            outcome = await lifecycle.command(deployment_id, Command.STOP)
        except IllegalTransitionError:
            continue  # finished or cleaning up meanwhile: nothing to stop
        if outcome.accepted:
            await notify(client, outcome.record, was_finished=outcome.record.state.is_terminal)
        stopped.append(deployment_id)
    return stopped


@http.post(
    "schedules/{schedule_id}/trigger",
    "triggerSchedule",
    role=Role.ADMIN,
    responses={202: Response("DeployAccepted", "Started; poll status_url", headers=LOCATION)},
    problems=(404, 409, 422),
)
async def trigger_schedule(
    schedule_id: ScheduleId, req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> Reply:
    """Run the schedule's workload now."""
    from api.schemas import DeployAccepted
    from haymaker.models import DeploymentStatus

    deployment_id = await scheduler_for(client).trigger(schedule_id)
    status_url = f"{base_url(req).split('/schedules/', 1)[0]}/deployments/{deployment_id}"
    accepted = DeployAccepted(
        deployment_id=deployment_id, status=DeploymentStatus.PENDING, status_url=status_url
    )
    return Reply(accepted, 202, headers={"Location": status_url})
