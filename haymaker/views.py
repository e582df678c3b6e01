"""What an orchestrator sees of a deployment: its view, derived from the stored record."""

from __future__ import annotations

from haymaker.contracts import DeploymentView
from haymaker.store import DeploymentRecord


def view_of(record: DeploymentRecord) -> DeploymentView:
    state = record.state
    return DeploymentView(
        status=state.status,
        desired_status=state.desired_status,
        phase=state.phase,
        step=record.progress.step,
        deadline=state.deadline,
        wake_event=record.progress.wake_event,
        error=state.error,
        resume_at=record.progress.resume_at,
        approval_key=state.awaiting_approval.key if state.awaiting_approval else None,
        approval_expires_at=state.awaiting_approval.expires_at if state.awaiting_approval else None,
    )
