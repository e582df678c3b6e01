"""How approvals move a deployment: asking (a step's request, or the platform's when the
budget runs out), deciding (a person, or the timeout), and applying the decision to the
deployment (the next step sees it; a budget decision raises the limits or stops the run).

The approval row is written first and is the truth; the deployment's entity mirrors the
pending request (`awaiting_approval`) and receives the decision when the orchestration
reconciles, so a crash anywhere leaves exactly one decision, applied once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from haymaker.approvals import (
    BUDGET_KEY,
    Approval,
    ApprovalRequest,
    ApprovalStatus,
    Decision,
    DecisionRequest,
    PendingApproval,
)
from haymaker.budgets import Budget, Exhaustion
from haymaker.errors import ApprovalNotFoundError, ApprovalSettledError, ValidationFailedError
from haymaker.models import DeploymentStatus
from haymaker.store import DeploymentRecord, Stores

S = DeploymentStatus
TIMEOUT_DECIDER = "timeout"
# The metadata key naming the limit a deployment waits on a raise of (dropped once raised).
EXHAUSTED_KEY = "budget_exhausted"


def budget_request(exhaustion: Exhaustion, asked: int, wait: timedelta) -> ApprovalRequest:
    used = "unknown" if math.isnan(exhaustion.used) else exhaustion.used
    return ApprovalRequest(
        key=f"{BUDGET_KEY}-{asked}",
        question=f"budget exhausted: {exhaustion.describe()}; raise it?",
        options=["approve", "reject"],
        payload={"limit": exhaustion.limit, "used": used, "allowed": exhaustion.allowed},
        timeout_seconds=wait.total_seconds(),
        on_timeout="reject",
    )


def start_waiting(record: DeploymentRecord, approval: Approval, now: datetime) -> None:
    """The deployment waits for `approval` (or takes its decision at once if it was made
    already: a decision that landed before the deployment recorded the request)."""
    record.state.awaiting_approval = PendingApproval.of(approval)
    until = f", until {approval.expires_at:%Y-%m-%d %H:%M:%S} UTC" if approval.expires_at else ""
    record.log(f"Approval requested ({approval.key}): {approval.question}{until}", now)
    if approval.status is not ApprovalStatus.PENDING:
        apply_decision(record, approval, now)


def apply_decision(record: DeploymentRecord, approval: Approval, now: datetime) -> None:
    """Apply a settled approval the deployment waits for (nothing if it waits for no
    such thing: an earlier run applied it)."""
    state = record.state
    if state.awaiting_approval is None or state.awaiting_approval.key != approval.key:
        return
    state.awaiting_approval = None
    decision = approval.decision
    if approval.status is ApprovalStatus.CANCELLED or decision is None:
        return
    record.progress.decisions[approval.key] = decision
    said = f" ({decision.comment})" if decision.comment else ""
    by = "on timeout" if decision.timed_out else f"by {decision.decided_by}"
    record.log(f"Approval {approval.key}: {decision.decision} {by}{said}", now)
    if not approval.budget:
        return
    if decision.decision == "approve" and approval.raised:
        state.budget = (state.budget or Budget()).raised(approval.raised)
        state.metadata.pop(EXHAUSTED_KEY, None)
        limits = ", ".join(f"{name}={value:g}" for name, value in approval.raised.items())
        record.log(f"Budget raised: {limits}", now)
        return
    # Not raised: the deployment stops, losing nothing; a start asks again.
    state.desired_status = S.STOPPED
    if state.status == S.RUNNING:
        record.move_to(S.STOPPED, now)
    record.log("Budget not raised: stopped (start it to ask again)", now, "warning")


def end_wait(record: DeploymentRecord, now: datetime) -> None:
    """The deployment ends (or is cleaned up) while it waits: the request is cancelled
    (ApprovalFlow.cancel settles its row first)."""
    pending = record.state.awaiting_approval
    if pending is not None:
        record.state.awaiting_approval = None
        record.log(f"Approval {pending.key} cancelled: the deployment no longer waits", now)


def timed_out(approval: Approval, now: datetime) -> Approval:
    return approval.model_copy(
        update={
            "status": ApprovalStatus.DECIDED,
            "decision": Decision(
                decision=approval.on_timeout,
                decided_by=TIMEOUT_DECIDER,
                decided_at=now,
                timed_out=True,
            ),
        }
    )


def cancelled(approval: Approval) -> Approval:
    return approval.model_copy(update={"status": ApprovalStatus.CANCELLED})


class ApprovalFlow:
    def __init__(self, stores: Stores, clock: Callable[[], datetime]) -> None:
        self.stores = stores
        self.clock = clock

    async def settled_or_expired(self, deployment_id: str, key: str) -> Approval | None:
        """The approval if it is settled, deciding it on timeout when its time is up;
        None while it is still pending."""
        approval = await self.stores.approvals.get(deployment_id, key)
        now = self.clock()
        if (
            approval.status is ApprovalStatus.PENDING
            and approval.expires_at is not None
            and now >= approval.expires_at
        ):
            approval, _ = await self.stores.approvals.settle(
                deployment_id, key, lambda pending: timed_out(pending, now)
            )
        return None if approval.status is ApprovalStatus.PENDING else approval

    async def cancel(self, record: DeploymentRecord) -> None:
        """The deployment ends while waiting: nobody may decide any more."""
        pending = record.state.awaiting_approval
        if pending is not None:
            await self.stores.approvals.settle(record.deployment_id, pending.key, cancelled)

    async def decide(
        self, deployment_id: str, key: str, request: DecisionRequest, decided_by: str
    ) -> Approval:
        """Record a person's decision. 404 for an unknown key, 422 for a decision that is
        not an option (or a budget approval without a valid raise), 409 once decided."""
        record = await self.stores.deployments.get(deployment_id)
        key = self._resolve(record, key)
        approval = await self.stores.approvals.get(deployment_id, key)
        _refuse_settled(approval)
        if request.decision not in approval.options:
            allowed = ", ".join(approval.options)
            raise ValidationFailedError(
                f"decision {request.decision!r} is not one of the options: {allowed}",
                errors=[{"key": "decision", "message": f"one of {allowed}"}],
            )
        raised = _raised(record, approval, request)
        now = self.clock()

        def decide(pending: Approval) -> Approval:
            decision = Decision(
                decision=request.decision,
                comment=request.comment,
                decided_by=decided_by,
                decided_at=now,
            )
            return pending.model_copy(
                update={"status": ApprovalStatus.DECIDED, "decision": decision, "raised": raised}
            )

        settled, won = await self.stores.approvals.settle(deployment_id, key, decide)
        if not won:
            _refuse_settled(settled, raced=True)
        return settled

    @staticmethod
    def _resolve(record: DeploymentRecord, key: str) -> str:
        """`budget` names the deployment's latest budget approval."""
        if key != BUDGET_KEY:
            return key
        if record.progress.budget_asks == 0:
            raise ApprovalNotFoundError(
                f"deployment {record.deployment_id} never ran out of budget"
            )
        return f"{BUDGET_KEY}-{record.progress.budget_asks}"


def _refuse_settled(approval: Approval, *, raced: bool = False) -> None:
    decision = approval.decision
    if approval.status is ApprovalStatus.CANCELLED:
        raise ApprovalSettledError(
            f"approval {approval.key} was cancelled: the deployment ended", raced=raced
        )
    if approval.status is ApprovalStatus.DECIDED and decision is not None:
        by = "on timeout" if decision.timed_out else f"by {decision.decided_by}"
        raise ApprovalSettledError(
            f"approval {approval.key} was already decided: {decision.decision} {by} "
            f"at {decision.decided_at:%Y-%m-%dT%H:%M:%SZ}",
            raced=raced,
        )


def _raised(
    record: DeploymentRecord, approval: Approval, request: DecisionRequest
) -> dict[str, float] | None:
    """The new limits of an approved budget raise, each above what is already used."""
    if not approval.budget or request.decision != "approve":
        return None
    if not request.raise_:
        payload = approval.payload or {}
        limit, allowed = payload.get("limit", "max_cost_usd"), payload.get("allowed", 5)
        example = json.dumps({limit: allowed * 2})
        raise ValidationFailedError(
            f"approving {approval.key} needs the new limits in `raise`, e.g. {example}",
            errors=[{"key": "raise", "message": "required to approve a budget"}],
        )
    from haymaker import budgets

    try:
        Budget.model_validate(request.raise_)
    except ValueError as exc:
        raise ValidationFailedError(f"raise: {exc}") from None
    state = record.state
    spent = budgets.used(state.usage, state.started_at, approval.requested_at)
    for limit, value in request.raise_.items():
        current = spent[limit]
        if current is None:
            raise ValidationFailedError(
                f"raise {limit}: what is used is unknown (a model without a price was "
                "called), so no limit on it can ever pass; reject to stop the deployment",
                errors=[{"key": f"raise.{limit}", "message": "usage unknown"}],
            )
        if value <= current:
            raise ValidationFailedError(
                f"raise {limit} above what is used ({current:g})",
                errors=[{"key": f"raise.{limit}", "message": f"must be above {current:g}"}],
            )
    return dict(request.raise_)
