import pytest

from haymaker.errors import ConfigError, PayloadTooLargeError, WorkloadNotFoundError
from haymaker.workloads.manifest import WorkloadManifest
from haymaker.workloads.registry import WorkloadRegistry, get_registry


@pytest.fixture
def manifest() -> WorkloadManifest:
    return get_registry().manifest("data-collector")


def test_defaults_are_applied(manifest):
    assert manifest.validate_config({}) == {
        "goal": None,  # data-collector derives it from item_count
        "item_count": 10,
        "enable_llm": False,
        "batch_size": 10,
        "item_delay_ms": 50,
        "failure_rate": 0.0,
        "approve_before_report": False,
        "approval_timeout_seconds": 86400,
    }


def test_strings_are_coerced_as_the_cli_sends_them(manifest):
    config = manifest.validate_config(
        {"item_count": "50", "enable_llm": "true", "item_delay_ms": "0", "goal": "x"}
    )
    assert config["item_count"] == 50
    assert config["enable_llm"] is True
    assert config["item_delay_ms"] == 0


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"item_count": 0}, "item_count"),
        ({"item_count": 1001}, "item_count"),
        ({"item_count": "many"}, "item_count"),
        ({"item_count": 2.5}, "item_count"),
        ({"item_count": True}, "item_count"),
        ({"item_count": None}, "item_count"),
        ({"enable_llm": "perhaps"}, "enable_llm"),
        ({"goal": "x" * 501}, "goal"),
        ({"goal": 5}, "goal"),
        ({"batch_size": 0}, "batch_size"),
        ({"item_delay_ms": -1}, "item_delay_ms"),
        ({"itemcount": 5}, "itemcount"),
    ],
)
def test_bad_config_is_rejected_naming_the_key(manifest, config, key):
    with pytest.raises(ConfigError) as raised:
        manifest.validate_config(config)
    assert raised.value.status == 422
    assert [error["key"] for error in raised.value.errors] == [key]
    assert key in raised.value.detail


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("item_cout", "unknown key; did you mean `item_count`?"),
        ("batchsize", "unknown key; did you mean `batch_size`?"),
        ("colour", "unknown key"),  # nothing near it
    ],
)
def test_an_unknown_key_suggests_the_nearest_known_one(manifest, key, message):
    with pytest.raises(ConfigError) as raised:
        manifest.validate_config({key: 1})
    assert raised.value.errors == [{"key": key, "message": message}]
    assert f"{key}: {message}" in raised.value.detail


def test_config_must_be_an_object(manifest):
    with pytest.raises(ConfigError):
        manifest.validate_config([1, 2])  # type: ignore[arg-type]


SCHEMA = """
name: demo
version: "1"
phases: [only]
config_schema:
  mode: {type: string, enum: [fast, slow], default: fast}
  departments: {type: array, items: string, enum: [hr, sales], default: [hr], max_length: 2}
  ratio: {type: number, min: 0, max: 1, default: 0.5}
  blob: {type: string, default: ""}
"""


def test_enums_arrays_and_numbers():
    manifest = WorkloadManifest.from_yaml(SCHEMA)
    config = manifest.validate_config({"departments": "hr,sales", "ratio": "0.25"})
    assert config["departments"] == ["hr", "sales"]
    assert config["ratio"] == 0.25
    for bad in (
        {"mode": "medium"},
        {"departments": "hr,it"},
        {"ratio": 2},
        {"departments": ["hr"] * 3},
    ):
        with pytest.raises(ConfigError):
            manifest.validate_config(bad)


def test_a_config_too_large_for_a_table_property_is_rejected():
    manifest = WorkloadManifest.from_yaml(SCHEMA)
    with pytest.raises(PayloadTooLargeError):
        manifest.validate_config({"blob": "x" * 40_000})


@pytest.mark.parametrize(
    "text",
    [
        "not: [valid",
        "- a list",
        "name: Bad Name\nversion: '1'",
        "name: x1\nversion: '1'\nconfig_schema: {n: {type: integer, default: 0, min: 1}}",
        "name: x1\nversion: '1'\nconfig_schema: {n: {type: integer, min: 5, max: 1}}",
        "name: x1\nversion: '1'\nconfig_schema: {n: {type: complex}}",
        "name: x1\nversion: '1'\nconfig_schema: {n: {type: integer, minimum: 1}}",
    ],
)
def test_broken_manifests_fail_at_load_time(text):
    with pytest.raises(ValueError, match=r"workload\.yaml"):
        WorkloadManifest.from_yaml(text)


def test_registry_names_unknown_workloads():
    registry = WorkloadRegistry()
    with pytest.raises(WorkloadNotFoundError, match="nope"):
        registry.manifest("nope")
    assert "data-collector" in get_registry().names()


def test_an_array_length_bounds_the_list_not_its_strings():
    manifest = WorkloadManifest.from_yaml(
        'name: demo\nversion: "1"\nphases: [only]\n'
        "config_schema:\n  urls: {type: array, items: string, required: true, min_length: 1, max_length: 2}\n"
    )
    long_url = "https://example.com/" + "a" * 100
    assert manifest.validate_config({"urls": [long_url]})["urls"] == [long_url]
    for bad in ([], ["a", "b", "c"]):
        with pytest.raises(ConfigError):
            manifest.validate_config({"urls": bad})


def test_an_optional_key_without_a_default_is_null_and_takes_values():
    manifest = WorkloadManifest.from_yaml(
        "name: opt-test\nversion: '1'\nphases: [a]\n"
        "config_schema:\n  note:\n    type: string\n    max_length: 5\n"
    )
    assert manifest.validate_config({}) == {"note": None}
    assert manifest.validate_config({"note": "hi"}) == {"note": "hi"}
    with pytest.raises(ConfigError, match="note"):
        manifest.validate_config({"note": "far too long"})


async def test_data_collectors_default_goal_follows_item_count():
    from haymaker.workloads.data_collector import DataCollectorWorkload
    from haymaker_testing import run_workload

    fast = {"item_delay_ms": 0}
    derived = await run_workload(DataCollectorWorkload, {"item_count": 3, **fast})
    assert derived.metadata["goal"] == "Collect 3 data items"
    given = await run_workload(DataCollectorWorkload, {"item_count": 3, "goal": "Mine", **fast})
    assert given.metadata["goal"] == "Mine"
