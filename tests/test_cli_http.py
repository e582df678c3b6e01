"""The CLI's HTTP: one connection for a whole run (--wait, logs -f and watch poll), Retry-After
honoured on 429 and 503 within bounds, and the function key never printed. Against a loopback
stub (tests/support/api_stub.py) that counts connections and answers what it is told to."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from typer.testing import CliRunner

from haymaker_cli import app
from haymaker_cli.client import ApiClient
from tests.support.api_stub import Reply, Request, Responder, stub_api

MANIFEST = {
    "name": "data-collector",
    "version": "1.0",
    "phases": ["collecting"],
    "config_schema": {"item_count": {"type": "integer", "default": 1, "min": 1}},
}
KEY = "k3y-Sekrit-0123456789abcdef"


def state(status: str, done: int) -> dict:
    return {
        "deployment_id": "dc-1",
        "workload_name": "data-collector",
        "status": status,
        "desired_status": "running" if status == "running" else None,
        "phase": "collecting",
        "metadata": {"item_count": 3, "items_collected": done},
        "created_at": "2026-01-01T00:00:00Z",
    }


def deployment(polls_until_done: int = 3) -> Responder:
    """A data-collector run that completes on the status poll `polls_until_done`."""
    polls = itertools.count(1)

    def respond(request: Request) -> Reply:
        if request.path == "/api/workloads/data-collector":
            return Reply(body=MANIFEST)
        if (request.method, request.path) == ("POST", "/api/deployments"):
            return Reply(202, {"deployment_id": "dc-1", "status": "pending"})
        if request.path == "/api/deployments":
            return Reply(body={"items": [state("running", 1)], "continuation": None})
        if request.path == "/api/deployments/dc-1":
            poll = next(polls)
            done = poll >= polls_until_done
            return Reply(body=state("completed" if done else "running", min(poll, 3)))
        if request.path == "/api/deployments/dc-1/logs":
            line = {"timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": "step"}
            return Reply(body={"items": [line] if "tail" in request.query else [], "cursor": 1})
        return Reply(404, {"title": "Not found", "detail": request.path})

    return respond


def refusing(status: int, retry_after: str | None, times: int | None = None) -> Responder:
    """`status` (with Retry-After) for the first `times` requests (None: every one), then
    what `deployment()` answers."""
    answered = itertools.count()
    then = deployment(polls_until_done=1)

    def respond(request: Request) -> Reply:
        if times is None or next(answered) < times:
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            problem = {"title": "Too many requests", "detail": "deploy rate limit reached"}
            return Reply(status, problem, headers)
        return then(request)

    return respond


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.setenv("HAYMAKER_CONFIG", str(tmp_path / "config.toml"))
    for name in ("HAYMAKER_KEY", "HAYMAKER_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    def invoke(url: str, *args: str):
        monkeypatch.setenv("HAYMAKER_URL", url)
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    return invoke


# -- one connection per run ---------------------------------------------------------------


def test_deploy_wait_polls_on_one_connection(run):
    with stub_api(deployment(polls_until_done=4)) as api:
        result = run(api.url, "deploy", "data-collector", "--wait")
    assert result.exit_code == 0, result.output
    assert len(api.requests) == 6  # the manifest, the deploy, four polls
    assert api.connections == 1


def test_logs_follow_polls_on_one_connection(run):
    with stub_api(deployment(polls_until_done=3)) as api:
        result = run(api.url, "logs", "dc-1", "-f")
    assert result.exit_code == 0, result.output
    assert len(api.requests) >= 5
    assert api.connections == 1


def test_watch_refreshes_on_one_connection(run):
    with stub_api(deployment()) as api:
        result = run(api.url, "watch", "--count", "3", "--interval", "0.2")
    assert result.exit_code == 0, result.output
    assert len(api.requests) == 3
    assert api.connections == 1


# -- Retry-After --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(run, status):
    with stub_api(refusing(status, "0", times=2)) as api:
        result = run(api.url, "status", "dc-1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "completed"
    assert len(api.requests) == 3
    assert api.connections == 1


def test_retry_after_as_a_date(run):
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True)
    with stub_api(refusing(429, past, times=1)) as api:
        result = run(api.url, "status", "dc-1")
    assert result.exit_code == 0, result.output
    assert len(api.requests) == 2


def test_retries_are_bounded_then_the_error_and_its_hint(run):
    with stub_api(refusing(503, "0")) as api:
        result = run(api.url, "status", "dc-1")
    assert result.exit_code == 1
    assert len(api.requests) == 1 + ApiClient.max_retries
    assert "error: Too many requests: deploy rate limit reached" in result.output
    assert "hint: try again shortly" in result.output


def test_a_wait_longer_than_the_bound_is_not_waited(run):
    with stub_api(refusing(429, "3600")) as api:
        result = run(api.url, "deploy", "data-collector")
    assert result.exit_code == 1
    assert len(api.requests) == 1
    assert "retry after 3600 s" in result.output


def test_without_retry_after_there_is_no_retry(run):
    with stub_api(refusing(503, None)) as api:
        result = run(api.url, "status", "dc-1")
    assert result.exit_code == 1
    assert len(api.requests) == 1


# -- the function key ---------------------------------------------------------------------


def haymaker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed command's entry point (main), as a user runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAYMAKER_")}
    return subprocess.run(
        [sys.executable, "-m", "haymaker_cli", *args],
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_key_no_header_can_carry_is_refused_without_showing_it(tmp_path):
    with stub_api(deployment()) as api:
        env = {"HAYMAKER_URL": api.url, "HAYMAKER_KEY": KEY[:8] + "\r\n" + KEY[8:]}
        result = haymaker("status", "dc-1", env=env)
    assert result.returncode == 2, result.stderr
    assert "function key" in result.stderr
    assert KEY[:8] not in result.stdout + result.stderr
    assert api.requests == []


def test_a_key_with_a_trailing_line_break_is_sent_without_it(tmp_path):
    with stub_api(deployment(polls_until_done=1)) as api:
        result = haymaker(
            "status", "dc-1", env={"HAYMAKER_URL": api.url, "HAYMAKER_KEY": KEY + "\r\n"}
        )
    assert result.returncode == 0, result.stderr
    assert api.requests[0].headers["x-functions-key"] == KEY


@pytest.mark.parametrize("debug", ["", "1"])
def test_an_unexpected_error_never_prints_the_key(tmp_path, debug):
    """A profile reads the key from a variable; the API answers a shape the CLI does not
    expect, which fails inside the command with the client (and its key) in scope."""
    config = tmp_path / "config.toml"
    env = {"HAYMAKER_CONFIG": str(config), "MY_KEY": KEY, "HAYMAKER_DEBUG": debug}
    with stub_api(lambda request: Reply(body=["not", "a", "deployment"])) as api:
        added = haymaker(
            "profile", "add", "odd", "--url", api.url, "--key-env", "MY_KEY", "--use", env=env
        )
        assert added.returncode == 0, added.stderr
        result = haymaker("status", "dc-1", env=env)
    assert result.returncode == 1
    assert api.requests[0].headers["x-functions-key"] == KEY
    assert KEY not in result.stdout + result.stderr
    assert "unexpected" in result.stderr
    assert ("Traceback" in result.stderr) == bool(debug)


def test_the_client_does_not_show_its_key():
    client = ApiClient("http://127.0.0.1:1", key=KEY, bearer="tok3n-Sekrit")
    assert KEY not in repr(client)
    assert "tok3n" not in repr(client)
