"""The approval commands and what status, list, watch and deploy --wait show of a waiting
deployment, its usage and its budget, against a live local host."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from haymaker_cli import output
from haymaker_cli.client import ApiClient

QUESTION = "Collected 3 of 3 items: write the report?"


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(output.console, "width", 250)  # tables on one line each


@pytest.fixture
def http(host):
    with httpx.Client(base_url=f"{host.url}/api/", timeout=30) as client:
        yield client


def until(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline
        time.sleep(0.05)


def deployed(output_text: str) -> str:
    return output_text.split("Deployment started: ")[1].split()[0]


def waiting_state(http, deployment_id: str, key: str):
    def check():
        state = http.get(f"deployments/{deployment_id}").json()
        pending = state["awaiting_approval"]
        return state if pending and pending["key"] == key else None

    return until(check)


def test_status_list_and_watch_show_the_wait_usage_and_budget(run, http):
    result = run(
        "deploy",
        "data-collector",
        "-c",
        "item_count=3",
        "-c",
        "item_delay_ms=0",
        "-c",
        "approve_before_report=true",
        "--budget",
        "max_steps=10",
        "-b",
        "max_llm_calls=5",
    )
    assert result.exit_code == 0, result.output
    deployment_id = deployed(result.output)
    waiting_state(http, deployment_id, "report")

    shown = run("status", deployment_id).output
    assert f"Waiting:  awaiting approval: {QUESTION}" in shown
    assert f"haymaker approve|reject {deployment_id} report [-m COMMENT]" in shown
    assert "Usage:    3 steps, 0 LLM calls, 0 tokens, $0" in shown
    assert "Budget:   LLM calls 5 of 5, steps 7 of 10 left" in shown

    listed = run("list").output.splitlines()
    row = next(line for line in listed if deployment_id in line)
    assert "running (awaiting approval)" in row
    assert "3 steps" in row
    assert "5/5 LLM calls, 7/10 steps" in row
    # Under the table, the question of each deployment that waits.
    assert f"{deployment_id} awaiting approval: {QUESTION}" in listed
    watched = run("watch", "--count", "1").output
    assert f"{deployment_id} awaiting approval: {QUESTION}" in watched.splitlines()

    table = run("approvals").output
    row = next(line for line in table.splitlines() if deployment_id in line)
    assert "report" in row
    assert QUESTION in row
    assert "approve/reject" in row
    assert "pending" in row
    listed = json.loads(run("approvals", "--json").output)
    assert any(item["deployment_id"] == deployment_id for item in listed)

    result = run("approve", deployment_id, "report", "-m", "ship it")
    assert result.exit_code == 0, result.output
    assert f"{deployment_id} report: approve by anonymous" in result.output
    result = run("reject", deployment_id, "report")
    assert result.exit_code == 4  # a conflict: decided already
    assert "already decided: approve by anonymous" in result.output
    assert run("approve", deployment_id, "nope").exit_code == 3
    assert run("approve", deployment_id, "report", "--raise", "max_steps=lots").exit_code == 2

    until(lambda: http.get(f"deployments/{deployment_id}").json()["status"] == "completed")
    history = run("approvals", "-d", deployment_id).output
    assert "approve by anonymous" in history


def test_approve_budget_raises_it(run, http):
    result = run(
        "deploy",
        "data-collector",
        "-c",
        "item_count=30",
        "-c",
        "item_delay_ms=0",
        "--budget",
        "max_steps=2",
    )
    deployment_id = deployed(result.output)
    waiting_state(http, deployment_id, "budget-1")
    shown = run("status", deployment_id).output
    assert "awaiting approval: budget exhausted: max_steps used 2 of 2; raise it?" in shown
    assert f"haymaker approve {deployment_id} budget --raise LIMIT=VALUE" in shown
    assert "Budget:   steps 0 of 2 left" in shown

    result = run("approve", deployment_id, "budget")
    assert result.exit_code == 2  # a budget approval needs the new limits
    assert "needs the new limits: --raise LIMIT=VALUE, e.g. --raise max_steps=4" in result.output
    result = run("approve", deployment_id, "budget", "--raise", "max_steps=20", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["raised"] == {"max_steps": 20}
    until(lambda: http.get(f"deployments/{deployment_id}").json()["status"] == "completed")


def test_deploy_wait_shows_the_question_and_goes_on_waiting(run, http, monkeypatch):
    tag = uuid.uuid4().hex[:12]
    finished: dict[str, object] = {}
    seen_waiting = threading.Event()  # deploy --wait has read a state that waits
    status = ApiClient.status

    def watched_status(client: ApiClient, deployment_id: str):
        state = status(client, deployment_id)
        if state.get("awaiting_approval"):
            seen_waiting.set()
        return state

    monkeypatch.setattr(ApiClient, "status", watched_status)

    def deploy_and_wait() -> None:
        result = run(
            "deploy",
            "data-collector",
            "-c",
            "item_count=3",
            "-c",
            "item_delay_ms=0",
            "-c",
            "approve_before_report=true",
            "-t",
            f"case={tag}",
            "--wait",
        )
        finished.update(code=result.exit_code, output=result.output)

    waiter = threading.Thread(target=deploy_and_wait)
    waiter.start()

    def mine():
        items = http.get("deployments", params={"limit": 200}).json()["items"]
        return next((i for i in items if i["tags"].get("case") == tag), None)

    deployment_id = until(mine)["deployment_id"]
    assert seen_waiting.wait(60)
    decided = http.post(
        f"deployments/{deployment_id}/approvals/report", json={"decision": "reject"}
    )
    assert decided.status_code == 200
    waiter.join(60)
    assert not waiter.is_alive()
    assert finished["code"] == 0, finished
    text = str(finished["output"])
    assert f"awaiting approval: {QUESTION}" in text
    assert f"answer with: haymaker approve|reject {deployment_id} report" in text
    assert "report_approved: False" in text


def test_usage_and_budget_read_as_text():
    from haymaker_cli.budget_view import budget_short, budget_text, usage_short, usage_text

    state = {
        "usage": {"input_tokens": 9000, "output_tokens": 3000, "llm_calls": 14, "steps": 6},
        "budget": {"max_cost_usd": 0.5, "max_llm_tokens": 50_000, "max_wall_hours": 2},
        "budget_remaining": {"max_cost_usd": None, "max_llm_tokens": 38_000},
        "budget_ends_at": "2026-12-01T14:30:00Z",
    }
    state["usage"]["cost_usd"] = None
    assert usage_text(state) == "6 steps, 14 LLM calls, 12k tokens, cost unknown"
    assert usage_short(state) == "6 steps, 14 calls, cost ?"
    assert budget_text(state) == (
        "tokens 38k of 50k, cost unknown of $0.5, 2 hours until 2026-12-01 14:30 UTC"
    )
    assert budget_short(state) == "38k/50k tokens, unknown/$0.5, until 14:30"
    state["usage"]["cost_usd"] = 0.1234
    state["budget_remaining"]["max_cost_usd"] = 0.3766
    assert usage_short(state) == "6 steps, 14 calls, $0.123"
    assert budget_short({"usage": {}, "budget": None}) == ""
    assert budget_text({"usage": {}, "budget": None}) is None
