"""`haymaker workload new`: the names it refuses, the directories it will not touch, and a
generated package that passes ruff, installs (offline, outside .venv), passes its own tests
(in process and durable, on this suite's Azurite) and runs to completed on the local host."""

import re
import tomllib
from pathlib import Path

import aiohttp
import pytest

from haymaker.keys import WORKLOAD_NAME_PATTERN
from haymaker.workloads.manifest import WorkloadManifest
from haymaker_cli.scaffold import Names, builtin_names
from tests.support.api import all_logs, call, wait_for
from tests.support.host import HostProcess
from tests.support.packages import (
    BIN,
    install,
    new_workload,
    passed_exactly,
    run,
    run_own_tests,
)

NAME = "bale-counter"


# -- names and directories ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ab", "it must be 3-40 characters long"),
        ("a" * 41, "it must be 3-40 characters long"),
        ("My-agent", "it must start with a lower-case letter"),
        ("1-agent", "it must start with a lower-case letter"),
        ("-agent", "it must start with a lower-case letter"),
        ("my--agent", "single dashes"),
        ("my-agent-", "single dashes"),
        ("my_agent", "single dashes"),
        ("my agent", "single dashes"),
        ("data-collector", "a built-in workload has that name"),
        ("m365-knowledge-worker", "a built-in workload has that name"),
        ("haymaker", "its package 'haymaker' would shadow an existing Python module"),
        ("haymaker-cli", "its package 'haymaker_cli' would shadow an existing Python module"),
        ("json", "its package 'json' would shadow an existing Python module"),
        ("abc", "its package 'abc' would shadow an existing Python module"),
        ("async", "its package 'async' is a Python keyword"),
    ],
)
def test_bad_names_are_refused_with_the_reason(tmp_path, name, reason):
    target = tmp_path / "out"
    result = new_workload(name, "--dir", str(target))
    assert result.exit_code == 2, result.output
    assert f"error: cannot use {name!r} as a workload name: " in result.stderr
    assert reason in result.stderr
    assert not target.exists()


def test_the_built_in_names_are_the_registrys_without_importing_the_workloads():
    from haymaker.workloads.registry import builtin_workloads

    assert builtin_names() == {cls.manifest().name for cls in builtin_workloads()}


@pytest.mark.parametrize(
    ("name", "package", "class_name"),
    [
        ("bot", "bot", "BotWorkload"),
        ("my-agent", "my_agent", "MyAgentWorkload"),
        ("web-2-go", "web_2_go", "Web2GoWorkload"),
        ("a" + "-b" * 19 + "c", "a" + "_b" * 19 + "c", "A" + "B" * 18 + "BcWorkload"),
    ],
)
def test_accepted_names_are_manifest_names(name, package, class_name):
    names = Names.of(name)
    assert re.fullmatch(WORKLOAD_NAME_PATTERN, name)
    assert (names.package, names.class_name) == (package, class_name)


def test_an_existing_directory_is_refused_and_left_as_it_was(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = new_workload(NAME, "--dir", str(taken))
    assert result.exit_code == 4, result.output
    assert f"error: {taken} already exists and is not an empty directory" in result.stderr
    assert [path.name for path in taken.iterdir()] == ["notes.txt"]
    assert (taken / "notes.txt").read_text() == "mine"

    a_file = tmp_path / "a-file"
    a_file.write_text("also mine")
    assert new_workload(NAME, "--dir", str(a_file)).exit_code == 4
    assert a_file.read_text() == "also mine"


def test_default_directory_is_the_name_and_an_empty_one_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = new_workload("first-agent")
    assert result.exit_code == 0, result.output
    assert "Created workload first-agent in ./first-agent:" in result.stdout
    assert "  ./first-agent/src/first_agent/workload.py" in result.stdout
    for line in (
        "pip install -e ./first-agent",
        "pytest ./first-agent",
        "haymaker dev",
        "haymaker deploy first-agent --wait",
    ):
        assert line in result.stdout
    assert (tmp_path / "first-agent" / "src" / "first_agent" / "workload.yaml").is_file()

    (tmp_path / "empty").mkdir()
    assert new_workload("second-agent", "--dir", "empty").exit_code == 0
    assert (tmp_path / "empty" / "pyproject.toml").is_file()


# -- the generated package ----------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("scaffold") / NAME
    result = new_workload(NAME, "--dir", str(directory))
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture(scope="module")
def installed(generated, tmp_path_factory) -> Path:
    """The package installed into a directory of its own (on PYTHONPATH), not into .venv:
    offline, dependencies included (it has none that the host does not provide)."""
    target = tmp_path_factory.mktemp("site")
    install(generated, target)
    return target


def test_the_package_has_its_manifest_entry_point_and_tests(generated):
    files = sorted(str(path.relative_to(generated)) for path in generated.rglob("*"))
    assert files == [
        "README.md",
        "pyproject.toml",
        "src",
        "src/bale_counter",
        "src/bale_counter/__init__.py",
        "src/bale_counter/workload.py",
        "src/bale_counter/workload.yaml",
        "tests",
        "tests/conftest.py",
        "tests/test_workload.py",
    ]
    manifest = WorkloadManifest.from_path(generated / "src/bale_counter/workload.yaml")
    assert manifest.name == NAME
    assert manifest.phases == ["initialize", "process", "report"]
    assert manifest.validate_config({}) == {
        "target": 20,
        "batch_size": 5,
        "pause_seconds": 0,
        "use_llm": False,
    }
    project = tomllib.loads((generated / "pyproject.toml").read_text())["project"]
    assert project["name"] == NAME
    # haymaker comes from the host: a dependency on it would fail Azure's remote build
    assert project["dependencies"] == []
    assert "haymaker-functions[testing]" in project["optional-dependencies"]["dev"]
    assert project["entry-points"]["haymaker.workloads"] == {
        NAME: "bale_counter.workload:BaleCounterWorkload"
    }
    assert (
        'pytest_plugins = ["haymaker_testing.pytest_plugin"]'
        in (generated / "tests/conftest.py").read_text()
    )


def test_the_generated_code_passes_ruff(generated):
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = run([str(BIN / "ruff"), *command], cwd=generated)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_package_passes_its_own_tests(generated, installed, storage_connection):
    result = run_own_tests(generated, installed, storage_connection)
    assert result.returncode == 0, result.stdout + result.stderr
    assert passed_exactly(result.stdout, 7), result.stdout
    assert "test_durable_deploy_stop_start_completes PASSED" in result.stdout, result.stdout


async def test_the_local_host_offers_and_runs_it(installed, storage_connection):
    host = HostProcess(storage_connection, env={"PYTHONPATH": str(installed)}).start()
    try:
        async with aiohttp.ClientSession(base_url=host.url) as api:
            code, listing, _ = await call(api, "GET", "/api/workloads")
            assert code == 200, listing
            assert NAME in [item["name"] for item in listing["items"]]

            body = {"workload": NAME, "config": {"target": 12, "batch_size": 5}}
            code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
            assert code == 202, accepted
            deployment_id = accepted["deployment_id"]
            final = await wait_for(api, deployment_id, "completed", "failed")
            assert final["status"] == "completed", final
            assert final["metadata"]["processed"] == 12
            assert final["metadata"]["goal_achieved"] is True
            assert "Processed items 11-12 of 12" in await all_logs(api, deployment_id)

            code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
            assert code == 202
            cleaned = await wait_for(
                api, deployment_id, "cleaned_up", "cleanup_failed", field="phase"
            )
            assert cleaned["phase"] == "cleaned_up", cleaned
            assert cleaned["metadata"]["cleanup"]["resources_deleted"] == 12
    finally:
        host.stop()
