"""What the CLI prints of users' text (config values, log lines, errors, table cells) is
printed as it is: square brackets are text, not Rich markup (`[/x]` used to crash it)."""

from __future__ import annotations

import json

import pytest

# Closing tags with no opening tag crash Rich's markup parser; the others would vanish.
TRICKY = "[/x] [bold]loud[/bold] [red]"


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture
def deployment(run) -> str:
    """A completed data-collector whose goal (in its metadata and logs) is TRICKY."""
    result = run(
        "deploy",
        "data-collector",
        "-c",
        f"goal={TRICKY}",
        "-c",
        "item_count=1",
        "-c",
        "item_delay_ms=0",
        "--wait",
        "--json",
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["deployment_id"]


def test_status_shows_metadata_as_written(run, deployment):
    shown = run("status", deployment)
    assert shown.exit_code == 0
    assert f"goal: {TRICKY}" in shown.output


def test_logs_show_lines_as_written(run, deployment):
    shown = run("logs", deployment, "-n", "50")
    assert shown.exit_code == 0
    assert f"Goal: {TRICKY}" in shown.output


def test_deploy_wait_shows_the_final_state_as_written(run):
    result = run("deploy", "data-collector", "-c", f"goal={TRICKY}", "-c", "item_count=1", "--wait")
    assert result.exit_code == 0
    assert f"goal: {TRICKY}" in result.output


def test_a_config_error_naming_a_key_with_brackets(run):
    result = run("deploy", "data-collector", "-c", f"{TRICKY}=1")
    assert result.exit_code == 2
    assert f"{TRICKY}: unknown key" in result.output


def test_an_api_error_echoing_the_request(run):
    # The schedule's config is checked by the API only: its 422 names the key.
    result = run("schedule", "create", "data-collector", "--cron", "0 0 6 * * *", "-c", "[/x]=1")
    assert result.exit_code == 2
    assert "[/x]: unknown key" in result.output


def test_schedule_config_values(run):
    created = run(
        "schedule", "create", "data-collector", "--cron", "0 0 6 * * *", "-c", "goal=[/x]"
    )
    assert created.exit_code == 0
    assert "'goal': '[/x]'" in created.output
    schedule_id = created.output.split("Schedule: ")[1].split()[0]
    assert run("schedule", "delete", schedule_id, "-y").exit_code == 0


def test_table_cells(run, monkeypatch):
    monkeypatch.delenv("HAYMAKER_URL")
    url = "http://127.0.0.1:1/[/x]"
    assert run("profile", "add", "odd", "--url", url).exit_code == 0
    listed = run("profile", "list")
    assert listed.exit_code == 0
    assert "[/x]" in listed.output


def test_an_unknown_profile_name_in_the_error(run, monkeypatch):
    monkeypatch.delenv("HAYMAKER_URL")
    result = run("--profile", "[/x]", "workload", "list")
    assert result.exit_code == 2
    assert "'[/x]'" in result.output
