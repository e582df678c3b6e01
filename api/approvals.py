"""Approval endpoints: what waits for a decision (across deployments, or one deployment's
requests and decisions), and deciding one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role, decided_by
from api.operation import Operations, Reply, Response
from runs.orchestration import notify

if TYPE_CHECKING:
    import azure.functions as func

    from api.schemas import (
        ApprovalKey,
        ApprovalQuery,
        DecisionRequest,
        DeploymentApprovalQuery,
        DeploymentId,
    )

bp = df.Blueprint()
http = Operations(bp, tag="approvals")


@http.get(
    "approvals",
    "listApprovals",
    role=Role.READER,
    responses={200: Response("ApprovalList", "A page of approvals, across deployments")},
    problems=(422,),
)
async def list_approvals(query: ApprovalQuery) -> Reply:
    """List approvals across deployments (default: the pending ones), a page at a time."""
    from api.schemas import ApprovalList
    from haymaker.runtime import get_runtime

    page = await (
        get_runtime()
        .stores()
        .approvals.with_status(query.status, limit=query.limit, continuation=query.continuation)
    )
    return Reply(ApprovalList(items=page.items, continuation=page.continuation))


@http.get(
    "deployments/{deployment_id}/approvals",
    "listDeploymentApprovals",
    role=Role.READER,
    responses={200: Response("ApprovalList", "The deployment's requests and decisions")},
    problems=(404, 422),
)
async def list_deployment_approvals(
    deployment_id: DeploymentId, query: DeploymentApprovalQuery
) -> Reply:
    """Every approval a deployment asked for, with its decision once made."""
    from api.schemas import ApprovalList
    from haymaker.runtime import get_runtime

    stores = get_runtime().stores()
    await stores.deployments.get(deployment_id)  # 404 for an unknown deployment
    page = await stores.approvals.of_deployment(
        deployment_id, limit=query.limit, continuation=query.continuation
    )
    return Reply(ApprovalList(items=page.items, continuation=page.continuation))


@http.post(
    "deployments/{deployment_id}/approvals/{key}",
    "decideApproval",
    role=Role.APPROVER,
    responses={200: Response("Approval", "Decided; the deployment acts on it")},
    problems=(404, 409),
)
async def decide_approval(
    deployment_id: DeploymentId,
    key: ApprovalKey,
    body: DecisionRequest,
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
) -> Reply:
    """Decide a pending approval: one of its options, with an optional comment (and, to
    approve an exhausted budget, the new limits in `raise`). A second decision is a 409."""
    from haymaker.approval_flow import ApprovalFlow
    from haymaker.errors import ApprovalSettledError
    from haymaker.runtime import get_runtime

    runtime = get_runtime()
    flow = ApprovalFlow(runtime.stores(), runtime.clock)
    try:
        approval = await flow.decide(deployment_id, key, body, decided_by(req))
    except ApprovalSettledError as exc:
        # Decided before this request came. If the deployment still waits for it, that
        # decision's doorbell may have been lost (a crash after its row was written): ring
        # it again. (A decider who lost a race leaves the ringing to the winner.)
        if not exc.raced:
            await _ring(client, deployment_id, key)
        raise
    await _ring(client, deployment_id, approval.key)
    return Reply(approval)


async def _ring(client: df.DurableOrchestrationClient, deployment_id: str, key: str) -> None:
    """Wake the deployment if it waits for the approval `key`. Read after the row is settled:
    a deployment that records the request after this read finds the decision itself."""
    from haymaker.approvals import BUDGET_KEY
    from haymaker.runtime import get_runtime

    record = await get_runtime().stores().deployments.get(deployment_id)
    pending = record.state.awaiting_approval
    if pending is None:
        return
    if pending.key == key or (key == BUDGET_KEY and pending.key.startswith(f"{BUDGET_KEY}-")):
        await notify(client, record, was_finished=False)
