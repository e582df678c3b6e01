"""Deployment lifecycle endpoints: deploy, list, status, logs, stop, start, cleanup, purge."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role, caller_key
from api.http import base_url
from api.operation import LOCATION, Operations, Reply, Response
from runs.orchestration import notify, start_run
from runs.services import retention_for

if TYPE_CHECKING:
    import azure.functions as func

    from api.schemas import (
        CleanupQuery,
        DeploymentConfig,
        DeploymentId,
        DeploymentQuery,
        LogQuery,
        ResourceQuery,
        StepQuery,
    )
    from haymaker.transitions import Command

logger = logging.getLogger("haymaker.api")

bp = df.Blueprint()
http = Operations(bp, tag="deployments")

_DONE = Response("DeploymentState", "Nothing to do: already there or already requested")
_RECORDED = Response("DeploymentState", "Desired state recorded; the orchestration acts on it")


@http.post(
    "deployments",
    "deploy",
    role=Role.OPERATOR,
    responses={
        202: Response(
            "DeployAccepted",
            "Accepted; poll status_url",
            headers=LOCATION,
            link="deployment_id",
        )
    },
    problems=(404, 429),
)
async def deploy(
    body: DeploymentConfig, req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> Reply:
    """Deploy a workload."""
    from api.schemas import DeployAccepted
    from haymaker.errors import ServiceUnavailableError
    from haymaker.runtime import get_runtime

    runtime = get_runtime()
    lifecycle = runtime.lifecycle()
    limit = runtime.settings.deploy_rate_limit
    await runtime.stores().ratelimits.take(caller_key(req), "deploy", limit, runtime.clock())
    record = await lifecycle.create(body, traceparent=req.headers.get("traceparent"))
    try:
        await start_run(client, record.deployment_id, record.state.traceparent)
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
    return Reply(accepted, 202, headers={"Location": status_url})


@http.get(
    "deployments",
    "listDeployments",
    role=Role.READER,
    responses={200: Response("DeploymentList", "A page of deployments")},
    problems=(422,),
)
async def list_deployments(query: DeploymentQuery) -> Reply:
    """List deployments, a page at a time."""
    from api.schemas import DeploymentList
    from haymaker.runtime import get_runtime

    page = (
        await get_runtime()
        .stores()
        .deployments.list(
            workload=query.workload,
            status=query.status,
            schedule_id=query.schedule_id,
            limit=query.limit,
            continuation=query.continuation,
        )
    )
    return Reply(DeploymentList(items=page.items, continuation=page.continuation))


@http.get(
    "deployments/{deployment_id}",
    "getDeployment",
    role=Role.READER,
    responses={200: Response("DeploymentState", "The deployment")},
    problems=(404,),
)
async def get_deployment(deployment_id: DeploymentId) -> Reply:
    """Status of one deployment."""
    from haymaker.runtime import get_runtime

    record = await get_runtime().stores().deployments.get(deployment_id)
    return Reply(record.state)


@http.delete(
    "deployments/{deployment_id}",
    "purgeDeployment",
    role=Role.ADMIN,
    responses={200: Response("Purged", "Purged")},
    problems=(404, 409),
)
async def purge_deployment(
    deployment_id: DeploymentId, client: df.DurableOrchestrationClient
) -> Reply:
    """Purge a finished deployment: its history, logs, records and state."""
    from api.schemas import Purged

    report = await retention_for(client).purge(deployment_id)
    return Reply(
        Purged(
            deployment_id=deployment_id,
            log_lines=report.log_lines,
            resource_records=report.resource_records,
        )
    )


@http.get(
    "deployments/{deployment_id}/logs",
    "getDeploymentLogs",
    role=Role.READER,
    responses={200: Response("LogPage", "Log lines in order")},
    problems=(404,),
)
async def get_deployment_logs(deployment_id: DeploymentId, query: LogQuery) -> Reply:
    """Log lines of one deployment."""
    from api.schemas import LogPage
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    record = await stores.deployments.get(deployment_id)
    total = record.progress.log_count
    items = await stores.logs.read(
        deployment_id, total=total, after=query.after, tail=query.tail, limit=query.limit
    )
    cursor = items[-1].line if items else (query.after if query.after is not None else -1)
    return Reply(LogPage(deployment_id=deployment_id, items=items, cursor=cursor, total=total))


@http.get(
    "deployments/{deployment_id}/steps",
    "getDeploymentSteps",
    role=Role.READER,
    responses={200: Response("StepPage", "Steps in order, and the waits after them")},
    problems=(404,),
)
async def get_deployment_steps(deployment_id: DeploymentId, query: StepQuery) -> Reply:
    """Timeline of one deployment: its steps and what it waited for."""
    from api.schemas import StepPage
    from haymaker.runtime import get_runtime
    from haymaker.timeline import waits

    stores = get_runtime().stores()
    record = await stores.deployments.get(deployment_id)
    # One step more than the page: the waits after its last step end where the next began.
    marks = await stores.logs.steps(deployment_id, after=query.after, limit=query.limit + 1)
    items, following = (
        marks[: query.limit],
        marks[query.limit] if len(marks) > query.limit else None,
    )
    approvals = (await stores.approvals.of_deployment(deployment_id)).items if items else []
    found = waits(items, following, record.state, record.progress.resume_at, approvals)
    cursor = items[-1].step if items else (query.after if query.after is not None else -1)
    return Reply(StepPage(deployment_id=deployment_id, items=items, waits=found, cursor=cursor))


@http.get(
    "deployments/{deployment_id}/resources",
    "getDeploymentResources",
    role=Role.READER,
    responses={200: Response("ResourcePage", "A page of what the deployment created")},
    problems=(404, 422),
)
async def get_deployment_resources(deployment_id: DeploymentId, query: ResourceQuery) -> Reply:
    """Resources one deployment created (what cleanup deletes)."""
    from api.schemas import ResourcePage
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    await stores.deployments.get(deployment_id)  # 404 for an unknown deployment
    page = await stores.resources.page(
        deployment_id, limit=query.limit, continuation=query.continuation
    )
    return Reply(
        ResourcePage(deployment_id=deployment_id, items=page.items, continuation=page.continuation)
    )


@http.post(
    "deployments/{deployment_id}/stop",
    "stopDeployment",
    role=Role.OPERATOR,
    responses={200: _DONE, 202: _RECORDED},
    problems=(404, 409),
)
async def stop_deployment(
    deployment_id: DeploymentId, client: df.DurableOrchestrationClient
) -> Reply:
    """Stop at the next step boundary."""
    from haymaker.transitions import Command

    return await _command(client, deployment_id, Command.STOP)


@http.post(
    "deployments/{deployment_id}/start",
    "startDeployment",
    role=Role.OPERATOR,
    responses={200: _DONE, 202: _RECORDED},
    problems=(404, 409),
)
async def start_deployment(
    deployment_id: DeploymentId, client: df.DurableOrchestrationClient
) -> Reply:
    """Resume a stopped deployment from its cursor."""
    from haymaker.transitions import Command

    return await _command(client, deployment_id, Command.START)


@http.post(
    "deployments/{deployment_id}/cleanup",
    "cleanupDeployment",
    role=Role.OPERATOR,
    responses={
        200: Response(
            ("CleanupPreview", "DeploymentState"),
            "With dry_run: what cleanup would delete. Otherwise: nothing to do",
        ),
        202: _RECORDED,
    },
    problems=(404, 409, 422),
)
async def cleanup_deployment(
    deployment_id: DeploymentId, query: CleanupQuery, client: df.DurableOrchestrationClient
) -> Reply:
    """Delete what the deployment created, then complete it."""
    from api.schemas import CleanupPreview
    from haymaker.runtime import get_runtime
    from haymaker.store.tables import decode_continuation
    from haymaker.transitions import Command

    # The token is checked either way: a bad one is an error even where it is unused.
    decode_continuation(query.continuation)
    if not query.dry_run:
        return await _command(client, deployment_id, Command.CLEANUP)
    preview = (
        await get_runtime()
        .lifecycle()
        .preview_cleanup(deployment_id, limit=query.limit, continuation=query.continuation)
    )
    return Reply(
        CleanupPreview(
            deployment_id=deployment_id,
            would_delete=preview.resources,
            continuation=preview.continuation,
        )
    )


async def _command(
    client: df.DurableOrchestrationClient, deployment_id: str, command: Command
) -> Reply:
    from haymaker.runtime import get_runtime

    outcome = await get_runtime().lifecycle().command(deployment_id, command)
    if not outcome.accepted:
        return Reply(outcome.record.state, 200)
    # A command changes only the desired status, so "finished" is as it was before it.
    await notify(client, outcome.record, was_finished=outcome.record.state.is_terminal)
    return Reply(outcome.record.state, 202)
