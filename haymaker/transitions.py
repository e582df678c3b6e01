"""The one table of legal status transitions, and the lifecycle commands built on it.

Every write of a status, by the API (a desired state) or by an activity (the actual state),
goes through `check_transition`.
"""

from __future__ import annotations

from enum import StrEnum

from haymaker.errors import IllegalTransitionError
from haymaker.models import TERMINAL_STATUSES, DeploymentState, DeploymentStatus

S = DeploymentStatus

TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    S.PENDING: frozenset({S.RUNNING, S.CLEANING_UP, S.FAILED}),
    S.RUNNING: frozenset({S.STOPPED, S.CLEANING_UP, S.COMPLETED, S.FAILED}),
    # A deadline can pass while stopped: the deployment ends without running again.
    S.STOPPED: frozenset({S.RUNNING, S.CLEANING_UP, S.COMPLETED}),
    S.FAILED: frozenset({S.CLEANING_UP}),
    S.CLEANING_UP: frozenset({S.COMPLETED, S.FAILED}),
    # A finished deployment still owns what its workload created until it is cleaned up.
    S.COMPLETED: frozenset({S.CLEANING_UP}),
}


def is_legal(source: DeploymentStatus, target: DeploymentStatus) -> bool:
    return target in TRANSITIONS[source]


def check_transition(source: DeploymentStatus, target: DeploymentStatus) -> None:
    if not is_legal(source, target):
        raise IllegalTransitionError(source, target)


class Command(StrEnum):
    STOP = "stop"
    START = "start"
    CLEANUP = "cleanup"


COMMAND_TARGETS = {
    Command.STOP: S.STOPPED,
    Command.START: S.RUNNING,
    Command.CLEANUP: S.CLEANING_UP,
}


def desired_after(state: DeploymentState, command: Command) -> DeploymentStatus | None:
    """The desired status `command` asks for, or None when it is already asked for.

    Raises IllegalTransitionError when the command makes no sense in the current state.
    A live deployment is judged by where it is heading (its desired status), a finished
    one by where it is.
    """
    target = COMMAND_TARGETS[command]
    finished = state.status in TERMINAL_STATUSES
    if not finished and state.desired_status == S.CLEANING_UP:
        if command is Command.CLEANUP:
            return None
        raise IllegalTransitionError(state.status, target, "a cleanup is already under way")
    if not finished and state.desired_status == target:
        return None
    source = state.status if finished else state.desired_status
    if not is_legal(source, target):
        raise IllegalTransitionError(state.status, target)
    return target
