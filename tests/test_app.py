"""The Functions app as the real host sees it."""

import json
import subprocess
import sys

from haymaker.contracts import ORCHESTRATOR, ActivityName
from tests.support.azurite import ROOT


def test_function_app_registers_everything(function_app):
    assert set(function_app.orchestrators) == {ORCHESTRATOR}
    activities = {
        ActivityName.RECONCILE,
        ActivityName.RUN_STEP,
        ActivityName.CLEANUP,
        ActivityName.FINISH,
    }
    assert set(function_app.activities) == activities
    routes = {(f.route, method) for f in function_app.http for method in sorted(f.methods or [])}
    assert routes == {
        ("deployments", "GET"),
        ("deployments", "POST"),
        ("deployments/{deployment_id}", "GET"),
        ("deployments/{deployment_id}/logs", "GET"),
        ("deployments/{deployment_id}/transcript", "GET"),
        ("deployments/{deployment_id}/stop", "POST"),
        ("deployments/{deployment_id}/start", "POST"),
        ("deployments/{deployment_id}/cleanup", "POST"),
        ("workloads", "GET"),
        ("workloads/{name}", "GET"),
        ("health", "GET"),
        ("openapi.json", "GET"),
        ("schedules", "GET"),
        ("schedules", "POST"),
        ("schedules/{schedule_id}", "GET"),
        ("schedules/{schedule_id}", "PATCH"),
        ("schedules/{schedule_id}", "DELETE"),
        ("schedules/{schedule_id}/trigger", "POST"),
        ("services", "GET"),
        ("services", "POST"),
        ("services/{service_name}", "GET"),
        ("services/{service_name}", "DELETE"),
        ("deployments/{deployment_id}", "DELETE"),
        ("metrics", "GET"),
        ("me", "GET"),
        ("deployments/{deployment_id}/steps", "GET"),
        ("deployments/{deployment_id}/resources", "GET"),
        ("ui/{*path}", "GET"),
        ("approvals", "GET"),
        ("deployments/{deployment_id}/approvals", "GET"),
        ("deployments/{deployment_id}/approvals/{key}", "POST"),
        ("events", "GET"),
        ("subscriptions", "GET"),
        ("subscriptions", "POST"),
        ("subscriptions/{subscription_id}", "GET"),
        ("subscriptions/{subscription_id}", "DELETE"),
        ("subscriptions/{subscription_id}/dead-letters", "GET"),
    }
    assert sorted(timer.name for timer in function_app.timers) == [
        "event_dispatch",
        "retention_sweep",
        "schedule_tick",
    ]
    levels = {f.route: f.auth_level for f in function_app.http}
    anonymous = ("health", "openapi.json", "ui/{*path}")  # the dashboard's files hold no data
    assert {levels[route] for route in anonymous} == {"anonymous"}
    assert {level for route, level in levels.items() if route not in anonymous} == {"function"}


def test_importing_the_app_stays_light_and_never_touches_devhost():
    """What `import function_app` loads is the cold start; heavy SDKs load only when used."""
    code = (
        "import sys, json, function_app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('devhost', 'anthropic', 'openai', 'typer', 'rich', 'httpx') or m.startswith('azure.identity'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_host_json_and_requirements_are_what_func_start_needs():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert host["extensions"]["durableTask"]["hubName"]
    requirements = (ROOT / "requirements.txt").read_text()
    for package in (
        "azure-functions",
        "azure-functions-durable",
        "azure-data-tables",
        "pydantic",
        "PyYAML",
    ):
        assert package in requirements
    settings = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    assert settings["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert "devhost/" in (ROOT / ".funcignore").read_text().split()
