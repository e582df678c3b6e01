"""The events a deployment's state change causes, derived in this one place from the record
as it was read and as it is about to be written (and the status transitions made on it), so
no code that changes a deployment has to remember to publish anything:

- each status transition: its event (haymaker.events.types.TRANSITION_EVENTS);
- a new phase without a transition: deployment.phase_changed;
- `awaiting_approval` set: deployment.approval_requested; cleared: deployment.approval_decided
  (with the decision, or `cancelled` when the deployment stopped waiting without one);
- one more budget approval asked (`budget_asks`): deployment.budget_exhausted;
- the record created, or deleted by a purge: deployment.created, deployment.purged;
- a schedule's run recorded (started, triggered, skipped or failed): schedule.fired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haymaker import tracing
from haymaker.clock import utc_now
from haymaker.events.model import OutboxEvent
from haymaker.events.types import TRANSITION_EVENTS, EventType

if TYPE_CHECKING:
    from datetime import datetime

    from haymaker.approvals import Decision, PendingApproval
    from haymaker.models import DeploymentState
    from haymaker.schedules.models import ScheduleState
    from haymaker.store.deployments import DeploymentRecord, Progress

E = EventType
_COMPARED = ("status", "desired_status", "phase", "error")


@dataclass(frozen=True)
class Before:
    """A deployment as it was read, before a change."""

    state: DeploymentState
    progress: Progress

    @classmethod
    def of(cls, record: DeploymentRecord) -> Before:
        return cls(record.state.model_copy(deep=True), record.progress.model_copy(deep=True))


def created(record: DeploymentRecord) -> list[OutboxEvent]:
    return [_event(E.CREATED, record, _data(record, {}))]


def purged(record: DeploymentRecord, now: datetime) -> list[OutboxEvent]:
    return [_event(E.PURGED, record, _data(record, {}), now)]


def changes(before: Before, record: DeploymentRecord) -> list[OutboxEvent]:
    """The events of the change from `before` to `record`, in the order they happened."""
    state, progress = record.state, record.progress
    changed = {
        name: {"from": getattr(before.state, name), "to": getattr(state, name)}
        for name in _COMPARED
        if getattr(before.state, name) != getattr(state, name)
    }
    events: list[OutboxEvent] = []

    def emit(kind: EventType, **extra: Any) -> None:
        events.append(_event(kind, record, _data(record, changed, **extra)))

    if progress.budget_asks > before.progress.budget_asks:
        emit(
            E.BUDGET_EXHAUSTED,
            exhausted=state.metadata.get("budget_exhausted"),
            budget=_dump(state.budget),
            usage=_dump(state.usage),
        )
    was, now_waits = before.state.awaiting_approval, state.awaiting_approval
    new_decisions = {
        key: decision
        for key, decision in progress.decisions.items()
        if key not in before.progress.decisions
    }
    if was is not None and (now_waits is None or now_waits.key != was.key):
        decision = new_decisions.pop(was.key, None)
        emit(E.APPROVAL_DECIDED, **_decided(was.key, decision, was))
    for key, decision in new_decisions.items():  # decided before the request was recorded
        emit(E.APPROVAL_DECIDED, **_decided(key, decision, None))
    for source, target in record.transitions:
        extra: dict[str, Any] = {"transition": {"from": source.value, "to": target.value}}
        if target.value in ("completed", "failed"):
            extra["usage"] = _dump(state.usage)
        emit(TRANSITION_EVENTS[(source, target)], **extra)
    if not record.transitions and state.phase != before.state.phase:
        emit(E.PHASE_CHANGED)
    if now_waits is not None and (was is None or was.key != now_waits.key):
        emit(E.APPROVAL_REQUESTED, approval=_approval(now_waits))
    return events


def _decided(
    key: str, decision: Decision | None, pending: PendingApproval | None
) -> dict[str, Any]:
    return {
        "approval": _approval(pending) if pending is not None else {"key": key},
        "decision": _dump(decision),
        "cancelled": decision is None,
    }


def _approval(pending: PendingApproval) -> dict[str, Any]:
    return pending.model_dump(mode="json")


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if value is not None else None


def _data(record: DeploymentRecord, changed: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What every deployment event says: where the deployment is, and what changed."""
    state = record.state
    data: dict[str, Any] = {
        "deployment_id": state.deployment_id,
        "workload": state.workload_name,
        "status": state.status.value,
        "desired_status": state.desired_status.value,
        "phase": state.phase,
        "step": record.progress.step,
        "error": state.error,
        "schedule_id": state.schedule_id,
        "tags": dict(state.tags),
        "changed": changed,
    }
    data.update(extra)
    return data


def _event(
    kind: EventType, record: DeploymentRecord, data: dict[str, Any], now: datetime | None = None
) -> OutboxEvent:
    return OutboxEvent(
        type=kind.value,
        subject=record.deployment_id,
        time=now or record.touched_at or utc_now(),
        data=data,
        traceparent=tracing.current_traceparent() or record.state.traceparent,
    )


def schedule_fired(before: ScheduleState, after: ScheduleState) -> list[OutboxEvent]:
    """One event per run the change recorded (runs are kept newest first)."""
    seen = {run.model_dump_json() for run in before.recent_runs}
    runs = [run for run in after.recent_runs if run.model_dump_json() not in seen]
    return [
        OutboxEvent(
            type=E.SCHEDULE_FIRED.value,
            subject=after.schedule_id,
            time=run.at,
            data={
                "schedule_id": after.schedule_id,
                "workload": after.workload_name,
                "cron": after.cron,
                "time_zone": after.time_zone,
                "slot": run.slot.isoformat(),
                "outcome": run.outcome,
                "deployment_id": run.deployment_id,
                "error": run.error,
            },
            traceparent=tracing.current_traceparent(),
        )
        for run in reversed(runs)
    ]
