"""data-collector with enable_llm on the local host, against the LLM stub through the real
Anthropic SDK: failed items are recovered or skipped as the model says, the report carries
its evaluation, and no completed step asks the model again."""

import json

import aiohttp
import pytest

from tests.support.api import deploy, wait_for
from tests.support.host import HostProcess
from tests.support.llm_stub import LLMStub

KEY = "sk-ant-test-never-logged-777"


@pytest.fixture(scope="module")
def stub():
    server = LLMStub().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def host(storage_connection, stub):
    env = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_MODEL": "claude-stub",
        "ANTHROPIC_BASE_URL": stub.url,
        "LLM_MAX_RETRIES": "1",
    }
    process = HostProcess(storage_connection, env=env).start()
    yield process
    process.stop()


async def deploy_and_wait(api, config):
    return await wait_for(api, await deploy(api, **config), "completed", "failed")


async def test_llm_recovers_items_and_evaluates_the_goal(host, stub):
    async with aiohttp.ClientSession(base_url=host.url) as api:
        before = len(stub.requests)
        state = await deploy_and_wait(
            api, {"item_count": 50, "enable_llm": True, "failure_rate": 0.2}
        )
        async with api.get(f"/api/deployments/{state['deployment_id']}/logs") as response:
            lines = [entry["message"] for entry in (await response.json())["items"]]
    requests = stub.requests[before:]
    metadata = state["metadata"]
    assert state["status"] == "completed", state
    failed, recovered = metadata["items_failed"], metadata["items_recovered"]
    assert recovered > 0
    assert failed > 0  # the stub skips odd-numbered items
    assert metadata["items_collected"] == 50 - failed
    assert metadata["goal_achieved"] is False
    assert metadata["llm_evaluation"].startswith("Yes")
    recoveries = [r for r in requests if "Error collecting item" in r.prompt]
    # each failed item was put to the model exactly once: no completed step asked again
    assert len(recoveries) == failed + recovered
    assert len({r.prompt for r in recoveries}) == len(recoveries)
    assert len(requests) == len(recoveries) + 1  # and one evaluation
    usage = state["usage"]
    assert (usage["llm_calls"], usage["input_tokens"], usage["output_tokens"]) == (
        len(requests),
        12 * len(requests),
        7 * len(requests),
    )
    assert usage["cost_usd"] is None  # the stub's model has no price: unknown, not free
    assert all(r.body["model"] == "claude-stub" for r in requests)
    assert sum(line.startswith("Recovered item") for line in lines) == recovered
    assert any(line.startswith("LLM evaluation: Yes") for line in lines)
    assert KEY not in json.dumps(state)
    assert KEY not in "\n".join(lines)
    assert KEY not in host.log()


async def test_without_llm_failures_are_skipped_and_no_model_is_called(host, stub):
    async with aiohttp.ClientSession(base_url=host.url) as api:
        before = len(stub.requests)
        state = await deploy_and_wait(api, {"item_count": 40, "failure_rate": 0.25})
    assert len(stub.requests) == before
    metadata = state["metadata"]
    assert metadata["items_failed"] > 0
    assert metadata["items_recovered"] == 0
    assert metadata["items_collected"] + metadata["items_failed"] == 40
    assert state["usage"]["llm_calls"] == 0
    assert state["usage"]["cost_usd"] == 0
    assert "llm_evaluation" not in metadata


async def test_the_same_items_fail_on_every_replay_of_a_deployment():
    from datetime import UTC, datetime

    from haymaker.workloads.base import StepContext
    from haymaker.workloads.data_collector import DataCollectorWorkload

    manifest = DataCollectorWorkload.manifest()
    config = manifest.validate_config(
        {"item_count": 30, "failure_rate": 0.3, "batch_size": 30, "item_delay_ms": 0}
    )

    async def failures(deployment_id):
        ctx = StepContext(deployment_id, "collecting", config, {}, {}, datetime.now(UTC))
        await DataCollectorWorkload().run_step(ctx)
        return [line for level, line in ctx.logs if level == "warning"]

    assert await failures("data-collector-aaaaaaaaaa") == await failures(
        "data-collector-aaaaaaaaaa"
    )
    assert await failures("data-collector-aaaaaaaaaa") != await failures(
        "data-collector-bbbbbbbbbb"
    )


NO_LLM = dict.fromkeys(
    (
        "LLM_PROVIDER",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_AI_FOUNDRY_ENDPOINT",
    ),
    "",
)


async def test_a_deploy_that_needs_an_unconfigured_llm_is_refused_naming_the_setting(
    storage_connection,
):
    from tests.support.api import call, expect_problem

    host = HostProcess(storage_connection, env=NO_LLM).start()
    try:
        async with aiohttp.ClientSession(base_url=host.url) as api:
            body = {"workload": "data-collector", "config": {"enable_llm": True}}
            problem = await expect_problem(api, "POST", "/api/deployments", 422, json=body)
            assert "LLM_PROVIDER" in problem["detail"]
            schedule = {**body, "cron": "0 0 3 * * *"}
            problem = await expect_problem(api, "POST", "/api/schedules", 422, json=schedule)
            assert "LLM_PROVIDER" in problem["detail"]
            _code, listed, _ = await call(api, "GET", "/api/deployments")
            assert listed["items"] == []  # nothing was recorded
            deployment_id = await deploy(api, item_count=2)  # no LLM needed: fine
            assert (await wait_for(api, deployment_id, "completed"))["status"] == "completed"
    finally:
        host.stop()
