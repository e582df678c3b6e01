"""The haymaker CLI against a live local host and Azurite (no mocked HTTP layer)."""

import json
import os
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from haymaker_cli import app
from haymaker_cli.dev import dev_environment
from tests.support.azurite import ROOT, free_port


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


def deployment_id_of(output: str) -> str:
    return output.split("Deployment started: ")[1].split()[0]


def test_help_lists_every_command_with_one_line_help(run):
    result = run("--help")
    for command in (
        "deploy",
        "status",
        "list",
        "watch",
        "logs",
        "stop",
        "start",
        "cleanup",
        "dev",
        "workload",
        "schedule",
        "profile",
    ):
        line = next(
            line for line in result.output.splitlines() if line.strip().startswith(command + " ")
        )
        assert len(line.split(None, 1)[1]) > 5, line


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
    deployment_id = deployment_id_of(result.output)
    state = json.loads(run("status", deployment_id, "-f", "json").output)
    assert state["tags"] == {"team": "qa"}
    assert state["config"]["item_count"] == 12
    assert json.loads(run("status", deployment_id, "--json").output) == state
    assert "items_collected: 12" in run("status", deployment_id).output
    logs = run("logs", deployment_id, "-n", "3")
    assert "Deployment completed after" in logs.output
    entries = [
        json.loads(line)
        for line in run("logs", deployment_id, "-n", "5", "--json").output.splitlines()
    ]
    assert len(entries) == 5
    assert entries[-1]["message"].startswith("Deployment completed")
    preview = run("cleanup", deployment_id, "--dry-run")
    assert "item-0011" in preview.output
    assert (
        len(json.loads(run("cleanup", deployment_id, "--dry-run", "--json").output)["would_delete"])
        == 12
    )
    cleaned = run("cleanup", deployment_id, "-y", "--json")
    assert cleaned.exit_code == 0, cleaned.output
    report = json.loads(cleaned.output)
    assert report["resources_deleted"] == 12
    assert report["status"] == "completed"


def test_config_is_typed_by_the_schema_before_any_deploy(run, host):
    listed_before = json.loads(run("list", "--all", "--json").output)
    for bad in (
        ["-c", "item_count=0"],
        ["-c", "item_count=lots"],
        ["-c", "nope=1"],
        ["-c", "enable_llm=perhaps"],
    ):
        result = run("deploy", "data-collector", *bad)
        assert result.exit_code == 2, result.output
        assert "error:" in result.output
    assert (
        json.loads(run("list", "--all", "--json").output) == listed_before
    )  # nothing was deployed
    typed = run(
        "deploy",
        "data-collector",
        "-c",
        "item_count=3",
        "-c",
        "enable_llm=false",
        "-c",
        "failure_rate=0.5",
        "-c",
        "item_delay_ms=0",
        "--wait",
        "--json",
    )
    state = json.loads(typed.output)
    assert state["config"]["item_count"] == 3
    assert state["config"]["failure_rate"] == 0.5


def test_config_file(run, tmp_path):
    config = tmp_path / "collector.yaml"
    config.write_text("item_count: 4\nitem_delay_ms: 0\ngoal: from a file\n")
    state = json.loads(
        run(
            "deploy",
            "data-collector",
            "--config-file",
            str(config),
            "-c",
            "item_count=5",
            "--wait",
            "--json",
        ).output
    )
    assert state["config"]["goal"] == "from a file"
    assert state["config"]["item_count"] == 5  # -c wins over the file
    broken = tmp_path / "broken.yaml"
    broken.write_text("- just\n- a list\n")
    assert run("deploy", "data-collector", "--config-file", str(broken)).exit_code == 2


def test_logs_follow_ends_when_the_deployment_completes(run):
    started = run("deploy", "data-collector", "-c", "item_count=30", "-c", "item_delay_ms=20")
    deployment_id = deployment_id_of(started.output)
    began = time.monotonic()
    followed = run("logs", deployment_id, "-n", "1", "-f")
    assert followed.exit_code == 0
    assert "Deployment completed after" in followed.output
    assert followed.output.count("Collected item") >= 20
    assert time.monotonic() - began < 60


def test_stop_and_start_with_confirmation(run):
    started = run(
        "deploy",
        "data-collector",
        "-c",
        "item_count=400",
        "-c",
        "batch_size=5",
        "-c",
        "item_delay_ms=20",
    )
    deployment_id = deployment_id_of(started.output)
    refused = run("stop", deployment_id)  # no terminal and no --yes
    assert refused.exit_code == 2
    assert "--yes" in refused.output
    stopped = run("stop", deployment_id, "-y", "--json")
    assert json.loads(stopped.output)["desired_status"] == "stopped"
    for _ in range(200):
        if json.loads(run("status", deployment_id, "--json").output)["status"] == "stopped":
            break
        time.sleep(0.05)
    resumed = run("start", deployment_id, "--wait", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.output)["status"] == "completed"


def test_list_all_follows_continuation_tokens(run):
    ids = {
        deployment_id_of(
            run("deploy", "data-collector", "-c", "item_count=1", "-c", "item_delay_ms=0").output
        )
        for _ in range(5)
    }
    first_page = json.loads(run("list", "-l", "2", "--json").output)
    assert len(first_page) == 2
    everything = json.loads(run("list", "-l", "2", "--all", "--json").output)
    assert ids <= {item["deployment_id"] for item in everything}
    assert len(everything) > 2
    table = run("list", "-w", "data-collector", "--all")
    assert table.exit_code == 0
    assert "data-collector" in table.output


def test_watch_and_workloads(run):
    watched = run("watch", "--count", "1", "-w", "data-collector")
    assert watched.exit_code == 0
    assert "Workload" in watched.output
    names = [item["name"] for item in json.loads(run("workload", "list", "--json").output)]
    assert "data-collector" in names
    assert "data-collector" in run("workload", "list").output
    info = json.loads(run("workload", "info", "data-collector", "--json").output)
    assert info["config_schema"]["item_count"]["max"] == 1000
    shown = run("workload", "info", "data-collector").output
    assert "item_count" in shown
    assert "1..1000" in shown  # integer bounds as the manifest wrote them
    assert ".0.." not in shown


def test_errors_have_documented_exit_codes(run):
    assert run("status", "data-collector-0000000000").exit_code == 3
    assert run("workload", "info", "no-such-workload").exit_code == 3
    assert run("deploy", "no-such-workload").exit_code == 3
    usage = run("deploy", "data-collector", "-c", "no-equals-sign")
    assert usage.exit_code == 2
    assert run("status", "Not_An_Id").exit_code == 2  # the API's 400
    assert run("list", "--status", "sleeping").exit_code == 2
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
    conflict = run("stop", deployment_id, "-y")
    assert conflict.exit_code == 4
    assert "hint:" in conflict.output
    assert len(conflict.output.strip().splitlines()) == 1


def test_connection_refused_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("HAYMAKER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("HAYMAKER_URL", f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["status", "data-collector-0000000000"])
    assert result.exit_code == 1
    assert "haymaker dev" in result.output


def test_profiles_select_the_endpoint(run, host, monkeypatch, tmp_path):
    monkeypatch.delenv("HAYMAKER_URL")
    assert run("profile", "add", "here", "--url", host.url).exit_code == 0
    assert (
        run(
            "profile", "add", "nowhere", "--url", f"http://127.0.0.1:{free_port()}", "--use"
        ).exit_code
        == 0
    )
    listed = json.loads(run("profile", "list", "--json").output)
    assert listed["current"] == "nowhere"
    assert set(listed["profiles"]) == {"local", "here", "nowhere"}
    assert run("workload", "list").exit_code == 1  # the current profile answers nothing
    assert run("--profile", "here", "workload", "list").exit_code == 0
    monkeypatch.setenv("HAYMAKER_PROFILE", "here")
    assert run("workload", "list").exit_code == 0
    monkeypatch.delenv("HAYMAKER_PROFILE")
    assert run("profile", "use", "here").exit_code == 0
    assert run("workload", "list").exit_code == 0
    monkeypatch.setenv("HAYMAKER_URL", f"http://127.0.0.1:{free_port()}")  # the environment wins
    assert run("workload", "list").exit_code == 1
    monkeypatch.delenv("HAYMAKER_URL")
    assert run("--profile", "missing", "workload", "list").exit_code == 2
    assert (
        run("profile", "add", "keyed", "--url", host.url, "--key-env", "MY_KEY_VAR").exit_code == 0
    )
    missing_key = run("--profile", "keyed", "workload", "list")
    assert missing_key.exit_code == 2
    assert "MY_KEY_VAR" in missing_key.output
    assert run("profile", "add", "bad", "--url", "ftp://x").exit_code == 2
    assert (
        run(
            "profile",
            "add",
            "both",
            "--url",
            host.url,
            "--key-env",
            "K",
            "--az-app",
            "func-x",
            "--az-resource-group",
            "rg-x",
        ).exit_code
        == 2
    )
    assert run("profile", "remove", "nowhere", "-y").exit_code == 0
    assert "nowhere" not in json.loads(run("profile", "list", "--json").output)["profiles"]


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
    shown = json.loads(run("schedule", "show", schedule_id, "--json").output)
    assert shown["recent_runs"][0]["outcome"] == "triggered"
    assert len(shown["next_slots"]) == 5
    bad = run("schedule", "create", "data-collector", "--cron", "* * * * *")
    assert bad.exit_code == 2
    assert "six" in bad.output
    assert run("schedule", "delete", schedule_id).exit_code == 2  # asks; no terminal
    deleted = run("schedule", "delete", schedule_id, "--stop-runs", "-y")
    assert deleted.exit_code == 0
    assert run("schedule", "show", schedule_id).exit_code == 3


def test_deploy_wait_under_a_terminal_shows_progress_to_100_percent(host, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = {
        **os.environ,
        "HAYMAKER_URL": host.url,
        "HAYMAKER_CONFIG": str(tmp_path / "c.toml"),
        "COLUMNS": "120",
        "TERM": "xterm-256color",
    }
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "haymaker_cli",
            "deploy",
            "data-collector",
            "-c",
            "item_count=40",
            "-c",
            "item_delay_ms=15",
            "--wait",
        ],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect("Deployment started")
    child.expect("100%")
    child.expect("40/40 items done")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_dev_reuses_configured_storage_that_answers(storage_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("AzureWebJobsStorage", storage_connection)
    monkeypatch.setenv("HAYMAKER_TABLE_PREFIX", "devreuse")
    port = free_port()
    with dev_environment(ROOT, port, state_dir=tmp_path) as url:
        assert httpx.get(f"{url}/api/health").json()["status"] == "ok"
    assert not (tmp_path / "azurite.log").exists()
    assert (tmp_path / "host.log").exists()


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"progress": {"done": 3, "total": 8, "unit": "pages"}}, (3, 8, "pages")),
        ({"progress": {"done": 3}}, (3, None, "items")),
        ({"item_count": 50, "items_collected": 40, "items_failed": 2}, (40, 50, "items")),
        ({"progress": "half"}, None),
        ({}, None),
    ],
)
def test_progress_is_what_the_workload_reports(metadata, expected):
    from haymaker_cli.follow import progress_of

    assert progress_of(metadata) == expected


def test_version_is_the_installed_distributions(run):
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0
    assert result.output == f"haymaker-functions {version('haymaker-functions')}\n"


def test_not_found_hints_say_where_to_look_for_what_was_not_found(run):
    workload = run("deploy", "nope")
    assert workload.exit_code == 3
    assert "Workload not found" in workload.output
    assert "hint: see the installed workloads with `haymaker workload list`" in workload.output
    deployment = run("status", "data-collector-0000000000")
    assert deployment.exit_code == 3
    assert "hint: check the deployment id with `haymaker list`" in deployment.output
    schedule = run("schedule", "show", "sch-0123456789")
    assert schedule.exit_code == 3, schedule.output
    assert "hint: check the schedule id with `haymaker schedule list`" in schedule.output


def test_an_unknown_config_key_suggests_the_nearest(run):
    result = run("deploy", "data-collector", "-c", "item_cout=5")
    assert result.exit_code == 2
    assert "item_cout: unknown key; did you mean `item_count`?" in result.output
