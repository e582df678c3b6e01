"""Budgets through the local host, with the LLM stub behind the real Anthropic SDK and a price
for its model: usage metered per step and summed, an exhausted budget pausing the deployment
on an approval (raised: it completes; rejected: it stops, losing nothing; started again: it
asks again), a step cut short when its model calls would pass the token limit, the
platform's default budget and a schedule's budget."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest

from haymaker.settings import StorageSettings
from haymaker.store import Stores
from haymaker.store.tables import Tables
from tests.support.api import all_logs, call, expect_problem, state, wait_for
from tests.support.host import HostProcess
from tests.support.llm_stub import LLMStub

# US dollars per million tokens: the stub answers every call with 12 input and 7 output
# tokens, so a call costs 12 * 1000 / 1e6 + 7 * 2000 / 1e6 = $0.026.
PRICES = {"claude-stub": {"input": 1000, "output": 2000}}
CALL_COST = 0.026
DEFAULT_STEPS = 1000


@pytest.fixture(scope="module")
def stub():
    server = LLMStub().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def host(storage_connection, stub):
    env = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": "sk-ant-test-budget-1",
        "ANTHROPIC_MODEL": "claude-stub",
        "ANTHROPIC_BASE_URL": stub.url,
        "LLM_MAX_RETRIES": "1",
        "HAYMAKER_LLM_PRICES": json.dumps(PRICES),
        "HAYMAKER_DEFAULT_BUDGET": json.dumps({"max_steps": DEFAULT_STEPS}),
    }
    process = HostProcess(storage_connection, env=env).start()
    yield process
    process.stop()


@pytest.fixture
async def host_stores(host, storage_connection):
    stores = Stores(
        Tables(
            StorageSettings(connection_string=storage_connection, table_prefix=host.table_prefix)
        )
    )
    yield stores
    await stores.tables.close()


async def deploy(api, budget=None, **config):
    body = {
        "workload": "data-collector",
        "config": {"item_delay_ms": 0, **config},
        **({"budget": budget} if budget else {}),
    }
    code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
    assert code == 202, accepted
    return accepted["deployment_id"]


async def wait_until(api, deployment_id, check, seconds=60.0):
    deadline = time.monotonic() + seconds
    while True:
        current = await state(api, deployment_id)
        if check(current):
            return current
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.05)


async def budget_wait(api, deployment_id, key):
    """The state once the deployment waits for the budget approval `key`."""
    current = await wait_until(
        api,
        deployment_id,
        lambda s: (s["awaiting_approval"] or {}).get("key") == key or s["status"] == "failed",
    )
    assert current["status"] == "running", current
    return current


async def decide(api, deployment_id, decision, key="budget", **extra):
    return await call(
        api,
        "POST",
        f"/api/deployments/{deployment_id}/approvals/{key}",
        json={"decision": decision, **extra},
    )


def limits(budget):
    """The limits a budget sets (the others are null)."""
    return {name: value for name, value in budget.items() if value is not None}


def items_once(lines):
    counted = Counter(line for line in lines if line.startswith(("Collected item", "Recovered")))
    assert set(counted.values()) <= {1}, counted
    return len(counted)


async def test_steps_exhausted_then_raised_then_completed(api):
    deployment_id = await deploy(api, {"max_steps": 3}, item_count=30)
    paused = await budget_wait(api, deployment_id, "budget-1")
    question = "budget exhausted: max_steps used 3 of 3; raise it?"
    assert paused["awaiting_approval"]["question"] == question
    assert paused["usage"]["steps"] == 3
    assert paused["budget_remaining"] == {"max_steps": 0}
    assert paused["metadata"]["items_collected"] == 20  # initialize + two batches of ten
    assert paused["metadata"]["budget_exhausted"] == "max_steps used 3 of 3"

    problem = await expect_problem(
        api,
        "POST",
        f"/api/deployments/{deployment_id}/approvals/budget",
        422,
        json={"decision": "approve"},
    )
    assert "needs the new limits" in problem["detail"]
    problem = await expect_problem(
        api,
        "POST",
        f"/api/deployments/{deployment_id}/approvals/budget",
        422,
        json={"decision": "approve", "raise": {"max_steps": 3}},
    )
    assert "above what is used (3)" in problem["detail"]
    await expect_problem(
        api,
        "POST",
        f"/api/deployments/{deployment_id}/approvals/budget",
        422,
        json={"decision": "approve", "raise": {"max_stepz": 9}},
    )

    code, approval, _ = await decide(api, deployment_id, "approve", **{"raise": {"max_steps": 10}})
    assert code == 200, approval
    assert approval["key"] == "budget-1"
    assert approval["raised"] == {"max_steps": 10}
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["status"] == "completed", final
    assert limits(final["budget"]) == {"max_steps": 10}
    assert final["usage"]["steps"] == 5
    assert final["budget_remaining"] == {"max_steps": 5}
    assert final["metadata"]["items_collected"] == 30
    assert "budget_exhausted" not in final["metadata"]  # raised: no longer so
    lines = await all_logs(api, deployment_id)
    assert items_once(lines) == 30
    assert f"Approval requested (budget-1): {question}, until" in " ".join(lines)
    assert "Approval budget-1: approve by anonymous" in lines
    assert "Budget raised: max_steps=10" in lines


async def test_exhausted_then_rejected_stops_losing_nothing_and_a_start_asks_again(
    api, host_stores
):
    deployment_id = await deploy(api, {"max_steps": 2}, item_count=30)
    await budget_wait(api, deployment_id, "budget-1")
    code, _, _ = await decide(api, deployment_id, "reject", comment="enough for today")
    assert code == 200
    stopped = await wait_for(api, deployment_id, "stopped")
    assert stopped["desired_status"] == "stopped"
    assert stopped["awaiting_approval"] is None
    assert stopped["metadata"]["items_collected"] == 10
    assert await host_stores.resources.count(deployment_id) == 10  # nothing lost
    lines = await all_logs(api, deployment_id)
    assert "Approval budget-1: reject by anonymous (enough for today)" in lines
    assert "Budget not raised: stopped (start it to ask again)" in lines

    code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/start")
    assert code == 202
    again = await budget_wait(api, deployment_id, "budget-2")
    assert again["usage"]["steps"] == 2
    code, _, _ = await decide(api, deployment_id, "approve", **{"raise": {"max_steps": 50}})
    assert code == 200
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["metadata"]["items_collected"] == 30
    assert await host_stores.resources.count(deployment_id) == 30
    assert items_once(await all_logs(api, deployment_id)) == 30
    page = await host_stores.approvals.of_deployment(deployment_id)
    decided = {a.key: a.decision.decision for a in page.items}
    assert decided == {"budget-1": "reject", "budget-2": "approve"}


async def test_a_model_call_never_passes_the_tokens_left_and_the_step_runs_again(api, stub):
    before = len(stub.requests)
    # Every item fails, so every item asks the model: 19 tokens a call.
    deployment_id = await deploy(
        api, {"max_llm_tokens": 50}, item_count=10, enable_llm=True, failure_rate=1.0
    )
    paused = await budget_wait(api, deployment_id, "budget-1")
    calls = stub.requests[before:]
    # 50 left, then 31, then 12: each call may produce at most what is left; the fourth
    # is never made.
    assert [r.body["max_tokens"] for r in calls] == [50, 31, 12]
    usage = paused["usage"]
    assert (usage["llm_calls"], usage["input_tokens"], usage["output_tokens"]) == (3, 36, 21)
    assert usage["cost_usd"] == pytest.approx(3 * CALL_COST)
    # Over by at most the step's own usage.
    assert 50 <= usage["input_tokens"] + usage["output_tokens"] <= 50 + 57
    assert paused["awaiting_approval"]["question"] == (
        "budget exhausted: max_llm_tokens used 57 of 50; raise it?"
    )
    assert paused["metadata"]["items_collected"] == 0  # the cut-short step recorded nothing
    lines = await all_logs(api, deployment_id)
    assert any(
        line.startswith("Step 1 stopped: the budget allows no more LLM tokens") for line in lines
    )

    code, _, _ = await decide(
        api, deployment_id, "approve", **{"raise": {"max_llm_tokens": 10_000}}
    )
    assert code == 200
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["status"] == "completed", final
    # The cut-short step's three calls were paid for: they count. Then ten and one report.
    assert final["usage"]["llm_calls"] == 3 + 10 + 1
    assert final["usage"]["cost_usd"] == pytest.approx(14 * CALL_COST)
    assert final["budget_remaining"]["max_llm_tokens"] == 10_000 - 14 * 19
    assert items_once(await all_logs(api, deployment_id)) == 5  # the even items, recovered


async def test_cost_exhausted_then_rejected_then_raised(api):
    deployment_id = await deploy(
        api,
        {"max_cost_usd": 0.05},
        item_count=10,
        batch_size=2,
        enable_llm=True,
        failure_rate=1.0,
    )
    paused = await budget_wait(api, deployment_id, "budget-1")
    cost = paused["usage"]["cost_usd"]
    # Checked before each step: the one that crossed the limit ran to its end (two calls).
    assert cost == pytest.approx(2 * CALL_COST)
    assert paused["awaiting_approval"]["question"] == (
        "budget exhausted: max_cost_usd used 0.052 of 0.05; raise it?"
    )
    assert paused["budget_remaining"]["max_cost_usd"] == 0
    code, _, _ = await decide(api, deployment_id, "reject")
    assert code == 200
    await wait_for(api, deployment_id, "stopped")
    await call(api, "POST", f"/api/deployments/{deployment_id}/start")
    await budget_wait(api, deployment_id, "budget-2")
    code, _, _ = await decide(api, deployment_id, "approve", **{"raise": {"max_cost_usd": 5}})
    assert code == 200
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["usage"]["llm_calls"] == 11
    assert final["usage"]["cost_usd"] == pytest.approx(11 * CALL_COST)
    assert final["budget_remaining"]["max_cost_usd"] == pytest.approx(5 - 11 * CALL_COST)


async def test_the_platform_default_applies_under_a_deployments_own_limits(api):
    plain = await deploy(api, item_count=5)
    own = await deploy(api, {"max_llm_calls": 4}, item_count=5)
    for deployment_id in (plain, own):
        await wait_for(api, deployment_id, "completed")
    assert limits((await state(api, plain))["budget"]) == {"max_steps": DEFAULT_STEPS}
    finished = await state(api, own)
    assert limits(finished["budget"]) == {"max_llm_calls": 4, "max_steps": DEFAULT_STEPS}
    assert finished["budget_remaining"] == {"max_llm_calls": 4, "max_steps": DEFAULT_STEPS - 3}
    assert finished["usage"]["cost_usd"] == 0


async def test_a_schedules_budget_goes_to_its_runs(api):
    body = {
        "workload": "data-collector",
        "config": {"item_count": 5, "item_delay_ms": 0},
        "cron": "0 0 0 1 1 *",
        "budget": {"max_steps": 2},
    }
    code, schedule, _ = await call(api, "POST", "/api/schedules", json=body)
    assert code == 201, schedule
    code, run, _ = await call(api, "POST", f"/api/schedules/{schedule['schedule_id']}/trigger")
    assert code == 202, run
    deployment_id = run["deployment_id"]
    paused = await budget_wait(api, deployment_id, "budget-1")
    assert limits(paused["budget"]) == {"max_steps": 2}
    await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
    await wait_for(api, deployment_id, "completed")


async def test_bad_budgets_are_refused(api):
    for budget, where in (
        ({"max_steps": 0}, "budget.max_steps"),
        ({"max_cost_usd": -1}, "budget.max_cost_usd"),
        ({"max_tokens": 5}, "budget.max_tokens"),
    ):
        body = {"workload": "data-collector", "budget": budget}
        problem = await expect_problem(api, "POST", "/api/deployments", 422, json=body)
        assert where in json.dumps(problem), problem
