"""A goal-agent using an MCP server and an OpenAPI service, both served by the test on
127.0.0.1, end to end through the local host with the real Anthropic SDK against the stub:
tools listed once and kept, calls as ledgered steps, an approval on a POST operation; and,
on the durable harness in virtual time, a rate-limited service that makes the agent wait
durably instead of failing."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.support import agent_policy
from tests.support.api import call, wait_for
from tests.support.host import HostProcess
from tests.support.llm_stub import LLMStub
from tests.support.mcp_server import McpTestServer
from tests.support.openapi_service import serve_pets

KEY = "sk-ant-integrations-test-7878"


@pytest.fixture(scope="module")
def stub():
    server = LLMStub().start()
    server.respond = agent_policy.respond
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp():
    server = McpTestServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def host(storage_connection, stub):
    env = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": stub.url,
        "LLM_MAX_RETRIES": "0",
    }
    process = HostProcess(storage_connection, env=env).start()
    yield process
    process.stop()


async def register_pets(api, pets, **fields) -> None:
    body = {
        "name": "pets",
        "kind": "openapi",
        "url": pets.document_url,
        "allowed_hosts": ["127.0.0.1"],
        **fields,
    }
    code, registered, _ = await call(api, "POST", "/api/services?replace=true", json=body)
    assert code in (200, 201), registered


async def wait_for_approval(api, deployment_id: str) -> dict:
    for _ in range(400):
        _, state, _ = await call(api, "GET", f"/api/deployments/{deployment_id}")
        if state.get("awaiting_approval"):
            return state["awaiting_approval"]
        assert state["status"] not in ("completed", "failed"), state
        await asyncio.sleep(0.05)
    raise AssertionError("no approval was asked for")


async def test_an_agent_uses_mcp_tools_and_a_service_with_an_approval_on_its_post(host, mcp):
    async with serve_pets() as pets, aiohttp.ClientSession(base_url=host.url) as api:
        await register_pets(api, pets, approval="side_effects")
        plan = [
            "add a=2 b=3",
            "echo text=hello",
            "listPets limit=5",
            'createPet body={"name":"Rex"}',
        ]
        body = {
            "workload": "goal-agent",
            "config": {
                "goal": "Use the services. PLAN: " + "; ".join(plan),
                "tools": ["add", "echo", "listPets", "createPet"],
                "mcp_servers": [{"name": "calc", "url": mcp.url, "allowed_hosts": ["127.0.0.1"]}],
                "services": ["pets"],
            },
        }
        code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
        assert code == 202, accepted
        deployment_id = accepted["deployment_id"]
        pending = await wait_for_approval(api, deployment_id)
        assert "createPet" in pending["question"]
        assert not [r for r in pets.requests if r.method == "POST"]  # not before approval
        code, _, _ = await call(
            api,
            "POST",
            f"/api/deployments/{deployment_id}/approvals/{pending['key']}",
            json={"decision": "approve"},
        )
        assert code == 200
        state = await wait_for(api, deployment_id, "completed", "failed")
        assert state["status"] == "completed", state
        code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/transcript")
    results = [e["tool_result"] for e in page["items"] if e["role"] == "tool"]
    assert [r["name"] for r in results] == ["add", "echo", "listPets", "createPet", "finish"]
    assert results[0]["content"].strip() == "5"
    assert "echo: hello" in results[1]["content"]
    assert not any(r["is_error"] for r in results)
    assert [r.method for r in pets.requests if r.path_qs.startswith("/v1/pets")] == ["GET", "POST"]
    assert mcp.recorded.calls.count("add") == 1


async def test_a_rate_limited_service_makes_the_agent_wait_durably(storage_connection):
    """One call a minute across every deployment: the second call waits on a durable timer
    for the next minute (virtual time) instead of failing or sleeping."""
    from haymaker.integrations.access import ServiceAccess
    from haymaker.integrations.credentials import Credentials
    from haymaker.integrations.models import ServiceSpec
    from haymaker.integrations.registration import register
    from haymaker.runtime import get_runtime
    from haymaker_testing import DurableHarness, tool_call
    from haymaker_testing import LLMStub as ScriptedLLM

    async with serve_pets() as pets, DurableHarness(storage=storage_connection) as harness:
        spec = ServiceSpec(
            name="pets",
            kind="openapi",
            url=pets.document_url,
            allowed_hosts=["127.0.0.1"],
            rate_limit_per_minute=1,
        )
        access = ServiceAccess(Credentials(get_runtime().settings))
        await harness.stores.services.add(await register(spec, access))
        run = await harness.deploy(
            "goal-agent", {"goal": "list twice", "tools": ["listPets"], "services": ["pets"]}
        )
        run.llm = ScriptedLLM(
            [
                tool_call("listPets", {"limit": 1}),
                tool_call("listPets", {"limit": 2}),
                tool_call("finish", {"summary": "listed twice"}),
            ]
        )
        started = run.orchestration.now
        await run.run_to_completion()
        state = await run.state()
        assert state.status == "completed", state.error
        listed = [r for r in pets.requests if r.path_qs.startswith("/v1/pets")]
        assert len(listed) == 2
        assert (run.orchestration.now - started).total_seconds() >= 1  # it waited for a window
        logs = await run.logs()
        assert any("deferred" in line for line in logs)


@pytest.fixture
def mcp_process(tmp_path):
    """The MCP server as a process of its own, counting its sends in a file."""
    import os
    import subprocess
    import sys

    from tests.support.azurite import wait_for_port
    from tests.support.mcp_server import free_port

    sent = tmp_path / "sent.tsv"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.mcp_server", str(port)],
        env={**os.environ, "HAYMAKER_TEST_MCP_SENT": str(sent)},
    )
    wait_for_port(port, timeout=60)
    yield f"http://127.0.0.1:{port}/mcp", sent
    server.terminate()
    server.wait(10)


async def test_kill_9_during_mcp_calls_never_repeats_a_side_effecting_call(
    storage_connection, stub, mcp_process
):
    """The host is killed at random moments while an agent sends three messages through
    an MCP server (a process of its own). A call found started but unconfirmed is not run
    again: MCP tools cannot tell whether it ran, so a person is asked, and says skip."""
    import random

    url, sent = mcp_process
    env = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": stub.url,
        "LLM_MAX_RETRIES": "0",
    }
    host = HostProcess(storage_connection, env=env).start()
    rng = random.Random(7)
    try:
        for round_ in range(5):
            plan = [f"send to=r{round_}-{i} body=m{i} delay=0.4" for i in range(3)]
            body = {
                "workload": "goal-agent",
                "config": {
                    "goal": "Send them. PLAN: " + "; ".join(plan),
                    "tools": ["send"],
                    "mcp_servers": [
                        {
                            "name": "mail",
                            "url": url,
                            "allowed_hosts": ["127.0.0.1"],
                        }
                    ],
                },
            }
            async with aiohttp.ClientSession(base_url=host.url) as api:
                code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
                assert code == 202, accepted
            deployment_id = accepted["deployment_id"]
            await asyncio.sleep(rng.uniform(0.3, 2.0))
            host.kill()
            host = HostProcess(
                storage_connection,
                env=env,
                port=host.port,
                table_prefix=host.table_prefix,
                task_hub=host.task_hub,
            ).start()
            async with aiohttp.ClientSession(base_url=host.url) as api:
                while True:
                    _, state, _ = await call(api, "GET", f"/api/deployments/{deployment_id}")
                    if state["status"] in ("completed", "failed"):
                        break
                    pending = state.get("awaiting_approval")
                    if pending:
                        assert "may or may not have run" in pending["question"]
                        await call(
                            api,
                            "POST",
                            f"/api/deployments/{deployment_id}/approvals/{pending['key']}",
                            json={"decision": "skip"},
                        )
                    await asyncio.sleep(0.1)
                assert state["status"] == "completed", state
            lines = sent.read_text().splitlines() if sent.exists() else []
            mine = [line for line in lines if line.startswith(f"r{round_}-")]
            assert len(mine) == len(set(mine)), f"a message was sent twice: {mine}"
    finally:
        host.stop()
