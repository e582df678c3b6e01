from datetime import UTC, datetime
from itertools import product

import pytest

from haymaker.errors import IllegalTransitionError
from haymaker.models import DeploymentState, DeploymentStatus
from haymaker.transitions import TRANSITIONS, Command, check_transition, desired_after

S = DeploymentStatus

LEGAL = {
    (S.PENDING, S.RUNNING),
    (S.PENDING, S.CLEANING_UP),
    (S.PENDING, S.FAILED),
    (S.RUNNING, S.STOPPED),
    (S.STOPPED, S.RUNNING),
    (S.RUNNING, S.CLEANING_UP),
    (S.STOPPED, S.CLEANING_UP),
    (S.FAILED, S.CLEANING_UP),
    (S.COMPLETED, S.CLEANING_UP),
    (S.CLEANING_UP, S.COMPLETED),
    (S.CLEANING_UP, S.FAILED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.FAILED),
    (S.STOPPED, S.COMPLETED),
}


def test_table_is_exactly_the_documented_one():
    table = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
    assert table == LEGAL
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_legal_transitions_pass(source, target):
    check_transition(source, target)


ILLEGAL = sorted(set(product(S, S)) - LEGAL)


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_every_illegal_transition_raises_a_typed_error(source, target):
    with pytest.raises(IllegalTransitionError) as raised:
        check_transition(source, target)
    assert raised.value.status == 409
    assert str(source) in str(raised.value)
    assert str(target) in str(raised.value)


def state(status: S, desired: S) -> DeploymentState:
    return DeploymentState(
        deployment_id="data-collector-0123456789",
        workload_name="data-collector",
        status=status,
        desired_status=desired,
        created_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("status", "desired", "command", "expected"),
    [
        (S.PENDING, S.RUNNING, Command.STOP, S.STOPPED),
        (S.RUNNING, S.RUNNING, Command.STOP, S.STOPPED),
        (S.RUNNING, S.RUNNING, Command.START, None),
        (S.RUNNING, S.STOPPED, Command.STOP, None),
        (S.RUNNING, S.STOPPED, Command.START, S.RUNNING),
        (S.STOPPED, S.STOPPED, Command.START, S.RUNNING),
        (S.STOPPED, S.STOPPED, Command.STOP, None),
        (S.STOPPED, S.RUNNING, Command.STOP, S.STOPPED),
        (S.RUNNING, S.RUNNING, Command.CLEANUP, S.CLEANING_UP),
        (S.STOPPED, S.STOPPED, Command.CLEANUP, S.CLEANING_UP),
        (S.PENDING, S.RUNNING, Command.CLEANUP, S.CLEANING_UP),
        (S.RUNNING, S.CLEANING_UP, Command.CLEANUP, None),
        (S.FAILED, S.RUNNING, Command.CLEANUP, S.CLEANING_UP),
        (S.COMPLETED, S.RUNNING, Command.CLEANUP, S.CLEANING_UP),
        (S.FAILED, S.CLEANING_UP, Command.CLEANUP, S.CLEANING_UP),
    ],
)
def test_commands_map_to_desired_states(status, desired, command, expected):
    assert desired_after(state(status, desired), command) == expected


@pytest.mark.parametrize(
    ("status", "desired", "command"),
    [
        (S.COMPLETED, S.RUNNING, Command.STOP),
        (S.COMPLETED, S.RUNNING, Command.START),
        (S.FAILED, S.RUNNING, Command.STOP),
        (S.FAILED, S.RUNNING, Command.START),
        (S.CLEANING_UP, S.CLEANING_UP, Command.STOP),
        (S.CLEANING_UP, S.CLEANING_UP, Command.START),
        (S.RUNNING, S.CLEANING_UP, Command.STOP),
        (S.STOPPED, S.CLEANING_UP, Command.START),
    ],
)
def test_commands_that_make_no_sense_are_refused(status, desired, command):
    with pytest.raises(IllegalTransitionError):
        desired_after(state(status, desired), command)
