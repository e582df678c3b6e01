"""The haymaker CLI against a live local host."""

import json

import httpx
import pytest
from typer.testing import CliRunner

from haymaker.cli import app
from haymaker.cli.dev import dev_environment
from tests.support.azurite import ROOT, free_port


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture
def run(host, monkeypatch):
    monkeypatch.setenv("HAYMAKER_URL", host.url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def test_deploy_wait_status_logs_and_cleanup(run):
    result = run(
        "deploy",
        "data-collector",
        "-c",
        "item_count=12",
        "-c",
        "item_delay_ms=0",
        "-t",
        "team=qa",
        "--wait",
    )
    assert result.exit_code == 0, result.output
    assert "completed" in result.output
    assert "items_collected: 12" in result.output
    deployment_id = result.output.split("Deployment started: ")[1].split()[0]
    status = run("status", deployment_id, "-f", "json")
    assert status.exit_code == 0
    state = json.loads(status.output)
    assert state["tags"] == {"team": "qa"}
    assert state["config"]["item_count"] == 12
    logs = run("logs", deployment_id, "-n", "3")
    assert "Deployment completed after" in logs.output
    listed = run("list", "--workload", "data-collector", "--json", "--all")
    assert deployment_id in {item["deployment_id"] for item in json.loads(listed.output)}
    preview = run("cleanup", deployment_id, "--dry-run")
    assert "item-0011" in preview.output
    cleaned = run("cleanup", deployment_id, "-y")
    assert cleaned.exit_code == 0, cleaned.output
    assert "resources_deleted" in cleaned.output
    assert "12" in cleaned.output


def test_errors_have_documented_exit_codes(run):
    bad = run("deploy", "data-collector", "-c", "item_count=0")
    assert bad.exit_code == 1
    assert "item_count" in bad.output
    missing = run("status", "data-collector-0000000000")
    assert missing.exit_code == 3
    usage = run("deploy", "data-collector", "-c", "no-equals-sign")
    assert usage.exit_code == 2
    finished = run(
        "deploy",
        "data-collector",
        "-c",
        "item_count=1",
        "-c",
        "item_delay_ms=0",
        "--wait",
        "--json",
    )
    deployment_id = json.loads(finished.output)["deployment_id"]
    conflict = run("stop", deployment_id)
    assert conflict.exit_code == 4


def test_connection_refused_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HAYMAKER_URL", f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["status", "data-collector-0000000000"])
    assert result.exit_code == 1
    assert "haymaker dev" in result.output


def test_dev_reuses_configured_storage_that_answers(storage_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("AzureWebJobsStorage", storage_connection)
    monkeypatch.setenv("HAYMAKER_TABLE_PREFIX", "devreuse")
    port = free_port()
    with dev_environment(ROOT, port, state_dir=tmp_path) as url:
        assert httpx.get(f"{url}/api/health").json()["status"] == "ok"
    assert not (tmp_path / "azurite.log").exists()
    assert (tmp_path / "host.log").exists()


def test_schedule_commands(run):
    created = run(
        "schedule",
        "create",
        "data-collector",
        "--cron",
        "0 0 6 * * Mon-Fri",
        "--tz",
        "Europe/Paris",
        "-c",
        "item_count=3",
        "-c",
        "item_delay_ms=0",
        "--max-active",
        "2",
    )
    assert created.exit_code == 0, created.output
    schedule_id = created.output.split("Schedule: ")[1].split()[0]
    assert "Europe/Paris" in created.output
    listed = run("schedule", "list", "--json")
    assert schedule_id in {item["schedule_id"] for item in json.loads(listed.output)}
    assert "False" in run("schedule", "disable", schedule_id).output
    assert "Enabled:    True" in run("schedule", "enable", schedule_id).output
    triggered = run("schedule", "trigger", schedule_id, "--wait")
    assert triggered.exit_code == 0, triggered.output
    assert "items_collected: 3" in triggered.output
    shown = run("schedule", "show", schedule_id)
    assert "triggered" in shown.output
    bad = run("schedule", "create", "data-collector", "--cron", "* * * * *")
    assert bad.exit_code == 1
    assert "six" in bad.output
    deleted = run("schedule", "delete", schedule_id, "--stop-runs", "-y")
    assert deleted.exit_code == 0
    assert run("schedule", "show", schedule_id).exit_code == 3
