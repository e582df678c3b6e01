"""A deployment's timeline: its steps (the step rows of its log partition) and the waits
between them, derived from what is stored rather than recorded twice.

- after a step that paused (`resume_at`), until the next step started;
- for an approval, from its request until its decision (the approvals table);
- between two ordinary steps that are further apart than a step boundary takes, the
  deployment was not running: it was stopped (or no host ran it) until the next step;
- after the last step, what the deployment waits for now (its state): the approval it awaits,
  the time it resumes at, or a start while it is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from haymaker.approvals import Approval, ApprovalStatus
from haymaker.models import DeploymentState, DeploymentStatus, Model, StepMark

WaitKind = Literal["stopped", "approval", "resume_at"]
# Consecutive steps of a running deployment follow within a round trip of the orchestration;
# a longer gap that no pause or approval explains is time it did not run.
IDLE_GAP = timedelta(seconds=2)


class Wait(Model):
    kind: WaitKind
    after_step: int = Field(description="the step it follows (-1: before the first)")
    started_at: datetime
    ended_at: datetime | None = Field(default=None, description="null: still waiting")
    until: datetime | None = Field(
        default=None, description="when it was due to end (resume time, approval expiry)"
    )
    detail: str | None = Field(default=None, description="the approval's question and decision")


def _approval_wait(approval: Approval, after_step: int) -> Wait:
    decision = approval.decision
    ended = decision.decided_at if decision else None
    detail = f"{approval.key}: {approval.question}"
    if decision is not None:
        detail += f" → {decision.decision} by {decision.decided_by}"
    elif approval.status is ApprovalStatus.CANCELLED:
        detail += " → cancelled"
    return Wait(
        kind="approval",
        after_step=after_step,
        started_at=approval.requested_at,
        ended_at=ended,
        until=approval.expires_at,
        detail=detail,
    )


def waits(
    marks: Sequence[StepMark],
    following: StepMark | None,
    state: DeploymentState,
    resume_at: datetime | None,
    approvals: Sequence[Approval],
) -> list[Wait]:
    """The waits after each of `marks` (`following`: the step after the last of them, if
    any), in time order."""
    found: list[Wait] = []
    for index, mark in enumerate(marks):
        after = marks[index + 1] if index + 1 < len(marks) else following
        if mark.outcome == "completed":
            continue
        window_end = after.started_at if after else None
        asked = [
            approval
            for approval in approvals
            if approval.requested_at >= mark.started_at
            and (window_end is None or approval.requested_at <= window_end)
        ]
        found += [_approval_wait(approval, mark.step) for approval in asked]
        if mark.outcome == "paused":
            found.append(
                Wait(
                    kind="resume_at",
                    after_step=mark.step,
                    started_at=mark.finished_at,
                    ended_at=window_end,
                    until=resume_at if after is None else None,
                )
            )
        elif after is None and not asked and state.status == DeploymentStatus.STOPPED:
            started = max(mark.finished_at, state.stopped_at or mark.finished_at)
            found.append(Wait(kind="stopped", after_step=mark.step, started_at=started))
        elif after is not None and not asked and after.started_at - mark.finished_at > IDLE_GAP:
            found.append(
                Wait(
                    kind="stopped",
                    after_step=mark.step,
                    started_at=mark.finished_at,
                    ended_at=after.started_at,
                )
            )
    return sorted(found, key=lambda wait: wait.started_at)
