"""The lifecycle event types, and the one event each status transition emits."""

from __future__ import annotations

from enum import StrEnum

from haymaker.models import DeploymentStatus

S = DeploymentStatus


class EventType(StrEnum):
    CREATED = "deployment.created"
    STARTED = "deployment.started"
    PHASE_CHANGED = "deployment.phase_changed"
    STOPPED = "deployment.stopped"
    RESUMED = "deployment.resumed"
    APPROVAL_REQUESTED = "deployment.approval_requested"
    APPROVAL_DECIDED = "deployment.approval_decided"
    BUDGET_EXHAUSTED = "deployment.budget_exhausted"
    COMPLETED = "deployment.completed"
    FAILED = "deployment.failed"
    CLEANED_UP = "deployment.cleaned_up"
    PURGED = "deployment.purged"
    SCHEDULE_FIRED = "schedule.fired"


E = EventType

# Every legal transition (haymaker.transitions.TRANSITIONS) and its event; a cleanup that
# begins is a change of phase (to "cleanup"). tests/test_events.py holds the two tables equal.
TRANSITION_EVENTS: dict[tuple[DeploymentStatus, DeploymentStatus], EventType] = {
    (S.PENDING, S.RUNNING): E.STARTED,
    (S.PENDING, S.CLEANING_UP): E.PHASE_CHANGED,
    (S.PENDING, S.FAILED): E.FAILED,
    (S.RUNNING, S.STOPPED): E.STOPPED,
    (S.RUNNING, S.CLEANING_UP): E.PHASE_CHANGED,
    (S.RUNNING, S.COMPLETED): E.COMPLETED,
    (S.RUNNING, S.FAILED): E.FAILED,
    (S.STOPPED, S.RUNNING): E.RESUMED,
    (S.STOPPED, S.CLEANING_UP): E.PHASE_CHANGED,
    (S.STOPPED, S.COMPLETED): E.COMPLETED,
    (S.FAILED, S.CLEANING_UP): E.PHASE_CHANGED,
    (S.CLEANING_UP, S.COMPLETED): E.CLEANED_UP,
    (S.CLEANING_UP, S.FAILED): E.FAILED,
    (S.COMPLETED, S.CLEANING_UP): E.PHASE_CHANGED,
}
