from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from haymaker import keys
from haymaker.errors import InvalidKeyError
from haymaker.models import CleanupReport, DeploymentConfig, DeploymentState, LogEntry


def test_deployment_config_accepts_both_spellings():
    short = DeploymentConfig.model_validate({"workload": "data-collector", "config": {"a": 1}})
    long = DeploymentConfig.model_validate(
        {"workload_name": "data-collector", "workload_config": {"a": 1}}
    )
    assert short == long
    assert short.workload_config == {"a": 1}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"workload": "Data Collector"},
        {"workload": "data-collector", "duration_hours": 0},
        {"workload": "data-collector", "duration_hours": -1},
        {"workload": "data-collector", "duration_hours": 10**6},
        {"workload": "data-collector", "tags": {"bad key!": "x"}},
        {"workload": "data-collector", "tags": {"k": "v" * 300}},
        {"workload": "data-collector", "tags": {f"k{i}": "v" for i in range(21)}},
        {"workload": "data-collector", "tags": {"k": 5}},
        {"workload": "data-collector", "confg": {}},
        {"workload": "data-collector", "config": [1, 2]},
    ],
)
def test_bad_deploy_requests_are_rejected(body):
    with pytest.raises(ValidationError):
        DeploymentConfig.model_validate(body)


def test_state_round_trips_through_json():
    state = DeploymentState(
        deployment_id="data-collector-0123456789",
        workload_name="data-collector",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        metadata={"items_collected": 3},
    )
    assert DeploymentState.model_validate_json(state.model_dump_json()) == state
    assert state.model_dump(mode="json")["status"] == "pending"


def test_cleanup_reports_merge():
    a = CleanupReport(deployment_id="d", resources_deleted=2, errors=["x"], duration_seconds=1)
    b = CleanupReport(
        deployment_id="d", resources_deleted=3, resources_failed=1, duration_seconds=2
    )
    merged = a.merge(b)
    assert (merged.resources_deleted, merged.resources_failed, merged.errors) == (5, 1, ["x"])
    assert merged.duration_seconds == 3


def test_log_entry_needs_a_non_negative_line():
    with pytest.raises(ValidationError):
        LogEntry(line=-1, timestamp=datetime.now(UTC), message="x")


@pytest.mark.parametrize(
    "value",
    ["", "a/b", "a\\b", "a#b", "a?b", "a\x00b", "a\x1fb", "a\x7fb", "x" * 1025, "é" * 600],
)
def test_table_keys_reject_forbidden_characters_and_length(value):
    with pytest.raises(InvalidKeyError):
        keys.table_key(value)


@pytest.mark.parametrize(
    "value",
    ["ab", "Data-collector-1", "1abc", "abc_def", "abc def", "a" * 64, "abc'or'1'eq'1"],
)
def test_deployment_ids_are_strict(value):
    with pytest.raises(InvalidKeyError):
        keys.deployment_id(value)


def test_new_deployment_ids_are_valid_and_unique():
    ids = {keys.new_deployment_id("data-collector") for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert keys.deployment_id(value).startswith("data-collector-")
