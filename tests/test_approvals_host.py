"""Approvals through the local host: data-collector's `approve_before_report` asks before its
report; approve, reject, timeout, decisions while stopped, stop/cleanup/deadline while
waiting, racing deciders, the errors of the decide operation, and purge."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest

from haymaker.settings import StorageSettings
from haymaker.store import Stores
from haymaker.store.tables import Tables
from tests.support.api import all_logs, call, deploy, expect_problem, state, wait_for

QUESTION = "Collected 5 of 5 items: write the report?"


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture
async def host_stores(host, storage_connection):
    stores = Stores(
        Tables(
            StorageSettings(connection_string=storage_connection, table_prefix=host.table_prefix)
        )
    )
    yield stores
    await stores.tables.close()


async def wait_until(api, deployment_id, check, seconds=60.0):
    """The deployment's state once `check(state)` holds."""
    deadline = time.monotonic() + seconds
    while True:
        current = await state(api, deployment_id)
        if check(current):
            return current
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.05)


async def waiting(api, deployment_id):
    return await wait_until(api, deployment_id, lambda s: s["awaiting_approval"] is not None)


async def deploy_asking(api, **config):
    deployment_id = await deploy(api, item_count=5, approve_before_report=True, **config)
    return deployment_id, await waiting(api, deployment_id)


def approval_url(deployment_id, key="report"):
    return f"/api/deployments/{deployment_id}/approvals/{key}"


async def decide(api, deployment_id, decision, key="report", **extra):
    return await call(
        api, "POST", approval_url(deployment_id, key), json={"decision": decision, **extra}
    )


async def approvals_of(api, deployment_id):
    code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/approvals")
    assert code == 200, page
    return {item["key"]: item for item in page["items"]}


async def test_approved_the_report_is_written_and_everything_is_logged(api):
    deployment_id, asked = await deploy_asking(api)
    pending = asked["awaiting_approval"]
    assert asked["status"] == "running"
    assert pending["key"] == "report"
    assert pending["question"] == QUESTION
    assert pending["options"] == ["approve", "reject"]
    code, page, _ = await call(api, "GET", "/api/approvals?status=pending")
    assert code == 200
    listed = {(item["deployment_id"], item["key"]): item for item in page["items"]}
    assert listed[(deployment_id, "report")]["payload"]["items_collected"] == 5

    code, approval, _ = await decide(api, deployment_id, "approve", comment="looks right")
    assert code == 200, approval
    assert approval["status"] == "decided"
    assert approval["decision"]["decision"] == "approve"
    assert approval["decision"]["decided_by"] == "anonymous"  # no key, no sign-in locally

    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["status"] == "completed", final
    assert final["metadata"]["report_approved"] is True
    assert final["metadata"]["goal_achieved"] is True
    assert final["awaiting_approval"] is None
    lines = await all_logs(api, deployment_id)
    assert any(line.startswith(f"Approval requested (report): {QUESTION}") for line in lines)
    assert "Approval report: approve by anonymous (looks right)" in lines
    assert lines.index("Approval report: approve by anonymous (looks right)") < lines.index(
        "Items collected: 5"
    )
    code, page, _ = await call(api, "GET", "/api/approvals")
    assert (deployment_id, "report") not in {(i["deployment_id"], i["key"]) for i in page["items"]}
    code, page, _ = await call(api, "GET", "/api/approvals?status=decided&limit=1000")
    assert (deployment_id, "report") in {(i["deployment_id"], i["key"]) for i in page["items"]}


async def test_rejected_no_report_is_written(api):
    deployment_id, _ = await deploy_asking(api)
    code, _, _ = await decide(api, deployment_id, "reject", comment="not today")
    assert code == 200
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["status"] == "completed", final
    assert final["metadata"]["report_approved"] is False
    assert "llm_evaluation" not in final["metadata"]
    lines = await all_logs(api, deployment_id)
    assert "Approval report: reject by anonymous (not today)" in lines
    assert "Report not approved (reject by anonymous: not today); no report" in lines
    assert "Items collected: 5" not in lines


async def test_on_timeout_the_timeout_decides_and_a_late_decision_is_a_409(api):
    # Not waiting to see the request: on a slow machine it may time out before a poll.
    deployment_id = await deploy(
        api, item_count=5, approve_before_report=True, approval_timeout_seconds=2
    )
    final = await wait_for(api, deployment_id, "completed", "failed", seconds=60)
    assert final["metadata"]["report_approved"] is False
    approval = (await approvals_of(api, deployment_id))["report"]
    requested = datetime.fromisoformat(approval["requested_at"])
    assert datetime.fromisoformat(approval["expires_at"]) - requested == timedelta(seconds=2)
    decision = approval["decision"]
    assert decision["timed_out"] is True
    assert decision["decided_by"] == "timeout"
    assert decision["decision"] == "reject"
    problem = await expect_problem(
        api, "POST", approval_url(deployment_id), 409, json={"decision": "approve"}
    )
    assert "already decided: reject on timeout" in problem["detail"]
    assert "Approval report: reject on timeout" in await all_logs(api, deployment_id)


async def test_a_decision_made_while_stopped_is_applied_on_start(api):
    deployment_id, _ = await deploy_asking(api)
    code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
    assert code == 202
    stopped = await wait_for(api, deployment_id, "stopped")
    assert stopped["awaiting_approval"]["key"] == "report"  # still visibly waiting

    code, _, _ = await decide(api, deployment_id, "approve")
    assert code == 200
    # The stopped orchestration takes the decision in (its doorbell rang) and stays stopped.
    taken = await wait_until(api, deployment_id, lambda s: s["awaiting_approval"] is None)
    assert taken["status"] == "stopped"
    assert "report_approved" not in taken["metadata"]

    code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/start")
    assert code == 202
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["metadata"]["report_approved"] is True
    lines = await all_logs(api, deployment_id)
    assert lines.count("Approval report: approve by anonymous") == 1


async def test_stop_start_and_cleanup_while_waiting(api, host_stores):
    deployment_id, _ = await deploy_asking(api)
    await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
    await wait_for(api, deployment_id, "stopped")
    await call(api, "POST", f"/api/deployments/{deployment_id}/start")
    resumed = await wait_for(api, deployment_id, "running")
    assert resumed["awaiting_approval"]["key"] == "report"  # started, and waiting again

    code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
    assert code == 202
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["phase"] == "cleaned_up"
    assert final["awaiting_approval"] is None
    assert (await approvals_of(api, deployment_id))["report"]["status"] == "cancelled"
    assert await host_stores.resources.count(deployment_id) == 0
    problem = await expect_problem(
        api, "POST", approval_url(deployment_id), 409, json={"decision": "approve"}
    )
    assert "cancelled" in problem["detail"]
    assert any("Approval report cancelled" in line for line in await all_logs(api, deployment_id))


async def test_the_duration_deadline_ends_a_wait(api):
    # 0.003 h = 10.8 s: time enough to reach the report (well under a second) and ask.
    config = {"item_count": 5, "item_delay_ms": 0, "approve_before_report": True}
    body = {"workload": "data-collector", "config": config, "duration_hours": 0.003}
    code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
    assert code == 202, accepted
    deployment_id = accepted["deployment_id"]
    final = await wait_for(api, deployment_id, "completed", "failed", seconds=60)
    assert final["phase"] == "expired", final
    assert final["metadata"]["deadline_reached"] is True
    assert final["awaiting_approval"] is None
    assert (await approvals_of(api, deployment_id))["report"]["status"] == "cancelled"


async def test_twenty_concurrent_decisions_one_wins(api):
    deployment_id, _ = await deploy_asking(api)
    choices = ["approve" if i % 2 else "reject" for i in range(20)]
    answers = await asyncio.gather(
        *(
            decide(api, deployment_id, choice, comment=f"decider {i}")
            for i, choice in enumerate(choices)
        )
    )
    codes = [code for code, _, _ in answers]
    assert all(code < 500 for code in codes), codes
    assert codes.count(200) == 1, codes
    assert codes.count(409) == 19, codes
    winner = next(body for code, body, _ in answers if code == 200)
    won = winner["decision"]["decision"]
    for code, body, _ in answers:
        if code == 409:
            assert f"already decided: {won} by anonymous" in body["detail"], body
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["metadata"]["report_approved"] is (won == "approve")
    lines = await all_logs(api, deployment_id)
    assert sum(line.startswith("Approval report: ") for line in lines) == 1
    assert (await approvals_of(api, deployment_id))["report"]["decision"] == winner["decision"]


async def test_decide_errors_are_clear_problems(api):
    deployment_id, _ = await deploy_asking(api)
    problem = await expect_problem(
        api, "POST", approval_url(deployment_id, "nope"), 404, json={"decision": "approve"}
    )
    assert "no approval 'nope'" in problem["detail"]
    problem = await expect_problem(
        api, "POST", approval_url(deployment_id), 422, json={"decision": "maybe"}
    )
    assert "not one of the options: approve, reject" in problem["detail"]
    await expect_problem(api, "POST", approval_url(deployment_id), 422, json={"comment": "x"})
    await expect_problem(
        api, "POST", approval_url(deployment_id), 422, json={"decision": "approve", "x": 1}
    )
    await expect_problem(
        api, "POST", approval_url("nobody-here-1"), 404, json={"decision": "approve"}
    )
    await expect_problem(
        api, "POST", approval_url(deployment_id, "Bad Key"), 400, json={"decision": "approve"}
    )
    problem = await expect_problem(
        api, "POST", approval_url(deployment_id, "budget"), 404, json={"decision": "approve"}
    )
    assert "never ran out of budget" in problem["detail"]
    await expect_problem(api, "GET", "/api/deployments/nobody-here-1/approvals", 404)
    await expect_problem(api, "GET", "/api/approvals?status=maybe", 400)
    # None of this touched the request.
    assert (await state(api, deployment_id))["awaiting_approval"]["key"] == "report"
    code, _, _ = await decide(api, deployment_id, "approve")
    assert code == 200
    await wait_for(api, deployment_id, "completed")


async def test_approvals_stay_until_the_deployment_is_purged(api, host_stores):
    deployment_id, _ = await deploy_asking(api)
    await decide(api, deployment_id, "approve")
    await wait_for(api, deployment_id, "completed")
    assert (await approvals_of(api, deployment_id))["report"]["status"] == "decided"
    code, _, _ = await call(api, "DELETE", f"/api/deployments/{deployment_id}")
    assert code == 200
    page = await host_stores.approvals.of_deployment(deployment_id)
    assert page.items == []
