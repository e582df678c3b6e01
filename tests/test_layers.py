"""Layers that only point down. The Functions app (function_app and all it imports) loads
nothing of the local host, the CLI or the test kit; the core (`haymaker`) loads nothing of
the app's outer packages; the CLI, installed without the Functions runtime, still works.
Each import runs in a fresh interpreter: this process has imported everything."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from tests.support.azurite import ROOT
from tests.support.cli_only import cli_only_env, run_cli_only

# Outer layers, and what only they may use.
NOT_IN_THE_APP = {
    "devhost",
    "haymaker_cli",
    "haymaker_testing",
    "typer",
    "click",
    "rich",
    "httpx",
    "pytest",
    "_pytest",
    "pytest_asyncio",
}
NOT_IN_THE_CORE = {
    "orchestrators",
    "api",
    "timers",
    "runs",
    "activities",
    "function_app",
    "devhost",
    "haymaker_cli",
    "haymaker_testing",
}
# The Functions runtime (the `app` extra) and the app's own packages.
NOT_IN_THE_CLI = {
    "azure",
    "aiohttp",
    "croniter",
    "tzdata",
    "anthropic",
    "openai",
    "devhost",
    "function_app",
    "api",
    "timers",
    "runs",
    "activities",
    "orchestrators",
    "haymaker_testing",
}


def loaded_by(code: str) -> set[str]:
    """Every module in sys.modules after `code` runs in a new interpreter at the root."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def among(modules: set[str], packages: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages)


def core_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "haymaker").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


# -- the Functions app ------------------------------------------------------------------------


def test_the_function_app_loads_no_outer_layer():
    assert among(loaded_by("import function_app"), NOT_IN_THE_APP) == []


def test_the_one_liner_prints_an_empty_list():
    """The check anyone can run from the checkout (README)."""
    one_liner = (
        "import function_app, sys; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'devhost','typer','rich','httpx'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", one_liner], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


# -- the core ---------------------------------------------------------------------------------


def test_the_core_loads_nothing_above_it():
    modules = core_modules()
    assert "haymaker.workloads.manifest" in modules
    found = among(loaded_by("\n".join(f"import {m}" for m in modules)), NOT_IN_THE_CORE)
    if found:  # name the modules that pull them in
        culprits = {m: among(loaded_by(f"import {m}"), NOT_IN_THE_CORE) for m in modules}
        pytest.fail(f"{found} loaded by: { {m: f for m, f in culprits.items() if f} }")


def test_the_core_has_no_import_of_them_either():
    """Imports inside functions too, which run only when called."""
    found = []
    for path in sorted((ROOT / "haymaker").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in NOT_IN_THE_CORE
            ]
    assert found == []


# -- the test kit -----------------------------------------------------------------------------


def test_importing_the_kit_leaves_the_durable_sdk_as_it_is():
    """devhost's replay speed-up patches the SDK: the kit applies it when it drives an
    orchestration, not because a conftest imported it."""
    patched = (
        "import haymaker_testing, haymaker_testing.orchestration, importlib\n"
        "events = importlib.import_module('azure.durable_functions.models.history.HistoryEvent')\n"
        "print(hasattr(events.dt_parse, 'cache_info'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", patched], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.splitlines()[-1:] == ["False"], result.stderr


# -- the CLI ----------------------------------------------------------------------------------


# `haymaker ... --help` for the root and every group and command.
EVERY_HELP = """
import haymaker_cli, typer.main

def paths(command, prefix):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from paths(sub, [*prefix, name])

for path in paths(typer.main.get_command(haymaker_cli.app), []):
    try:
        haymaker_cli.app([*path, "--help"], prog_name="haymaker")
    except SystemExit as exit:
        assert exit.code == 0, (path, exit.code)
"""


def test_the_cli_and_its_help_load_no_functions_runtime():
    modules = loaded_by(EVERY_HELP)
    assert "haymaker_cli.schedules" in modules
    assert among(modules, NOT_IN_THE_CLI) == []


def test_a_cli_only_install_runs_help_version_and_workload_new(tmp_path):
    for args in (["--help"], ["--version"], ["deploy", "--help"], ["dev", "--help"]):
        result = run_cli_only(tmp_path, *args)
        assert result.returncode == 0, result.stderr
    made = run_cli_only(tmp_path, "workload", "new", "hay-bale", "--dir", str(tmp_path / "w"))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "w/src/hay_bale/workload.yaml").is_file()
    refused = run_cli_only(tmp_path, "workload", "new", "data-collector", "--dir", "x")
    assert refused.returncode == 2
    assert "a built-in workload has that name" in refused.stderr


def test_the_simulated_cli_only_install_lacks_the_runtime_but_not_the_cli(tmp_path):
    code = "import importlib.util as u; print(u.find_spec('typer') is not None); import aiohttp"
    probe = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, **cli_only_env(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout == "True\n"
    assert "No module named 'aiohttp'" in probe.stderr


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


def test_a_cli_only_install_deploys_and_follows_on_a_host(host, tmp_path):
    env = {"HAYMAKER_URL": host.url, "HAYMAKER_CONFIG": str(tmp_path / "config.toml")}
    args = ["deploy", "data-collector", "-c", "item_count=3", "-c", "item_delay_ms=0"]
    deployed = run_cli_only(tmp_path, *args, "--wait", "--json", env=env)
    assert deployed.returncode == 0, deployed.stderr
    state = json.loads(deployed.stdout)
    assert state["status"] == "completed"
    logs = run_cli_only(tmp_path, "logs", state["deployment_id"], "-n", "2", env=env)
    assert "Deployment completed" in logs.stdout


def test_haymaker_dev_without_the_runtime_says_which_extra_to_install(tmp_path):
    result = run_cli_only(tmp_path, "dev", "--app-dir", str(ROOT))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'haymaker-functions[app]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_entra_profile_without_azure_identity_says_which_extra_to_install(tmp_path):
    env = {"HAYMAKER_CONFIG": str(tmp_path / "config.toml")}
    url = "https://func-x.example"
    added = run_cli_only(
        tmp_path, "profile", "add", "p", "--url", url, "--entra-scope", "api://x/.default", env=env
    )
    assert added.returncode == 0, added.stderr
    result = run_cli_only(tmp_path, "--profile", "p", "workload", "list", env=env)
    assert result.returncode == 2, result.stderr
    assert "pip install 'haymaker-functions[entra]'" in result.stderr
