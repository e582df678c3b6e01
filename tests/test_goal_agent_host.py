"""The goal-agent on the local host, its model the real Anthropic SDK against the loopback
stub server (tests/support/agent_policy.py plays the agent): deploy from the CLI, the
transcript through the API and the CLI, stop and start, approvals, cleanup of what tools
made, and kill -9 of the host at random points: no side-effecting call ever runs twice."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.support import agent_policy
from tests.support.api import call, wait_for
from tests.support.host import HostProcess
from tests.support.http_site import serve
from tests.support.llm_stub import LLMStub
from tests.support.packages import install

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "tests" / "support" / "plugins" / "counter_tool"
KEY = "sk-ant-agent-test-never-shown-5151"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("counter-tool-site")
    install(PLUGIN, target, dependencies=False)
    return target


@pytest.fixture(scope="module")
def stub():
    server = LLMStub().start()
    server.respond = agent_policy.respond
    yield server
    server.stop()


@pytest.fixture(scope="module")
def counter(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("counter-tool")
    (work / "notes").mkdir()
    return work / "runs.txt", work / "notes"


def host_env(plugin_site: Path, stub: LLMStub, counter: tuple[Path, Path]) -> dict[str, str]:
    return {
        "PYTHONPATH": str(plugin_site),
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": stub.url,
        "LLM_MAX_RETRIES": "0",
        "COUNTER_TOOL_FILE": str(counter[0]),
        "COUNTER_TOOL_DIR": str(counter[1]),
    }


@pytest.fixture(scope="module")
def host(storage_connection, plugin_site, stub, counter):
    process = HostProcess(storage_connection, env=host_env(plugin_site, stub, counter)).start()
    yield process
    process.stop()


def goal(*steps: str) -> str:
    return "Carry out the plan. PLAN: " + "; ".join(steps)


async def deploy_agent(api, plan: list[str], **config) -> str:
    body = {
        "workload": "goal-agent",
        "config": {"goal": goal(*plan), "tools": ["tally", "make_note", "http_fetch"], **config},
    }
    code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
    assert code == 202, accepted
    return accepted["deployment_id"]


async def transcript(api, deployment_id: str) -> list[dict]:
    code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/transcript")
    assert code == 200, page
    return page["items"]


def runs_of(counter: tuple[Path, Path], deployment_id: str) -> Counter:
    lines = counter[0].read_text().splitlines() if counter[0].exists() else []
    return Counter(line.split()[1] for line in lines if line.split()[0] == deployment_id)


def cli(host: HostProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAYMAKER_URL": host.url, "HAYMAKER_CONFIG": os.devnull}
    return subprocess.run(
        [sys.executable, "-m", "haymaker_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


async def test_deploy_from_the_cli_fetches_a_page_and_finishes_with_a_transcript(host, stub):
    async with serve() as site:
        # in a thread: the site answers from this test's event loop meanwhile
        result = await asyncio.to_thread(
            cli,
            host,
            "deploy",
            "goal-agent",
            "-c",
            f"goal={goal(f'http_fetch url={site.url}/page')}",
            "-c",
            "tools=http_fetch,finish",
            "-c",
            "allowed_hosts=127.0.0.1",
            "--wait",
            "--json",
        )
        assert result.returncode == 0, result.stdout + result.stderr
        deployment_id = json.JSONDecoder().raw_decode(result.stdout)[0]["deployment_id"]
        assert site.paths() == ["/page"]
    async with aiohttp.ClientSession(base_url=host.url) as api:
        state = await wait_for(api, deployment_id, "completed", "failed")
        assert state["status"] == "completed", state
        assert state["metadata"]["stop_reason"] == "finished"
        assert state["metadata"]["goal_achieved"] is True
        entries = await transcript(api, deployment_id)
    assert [e["role"] for e in entries] == ["user", "assistant", "tool", "assistant", "tool"]
    assert "Hello world" in entries[2]["tool_result"]["content"]
    assert entries[1]["usage"] == {"input_tokens": 10, "output_tokens": 5}
    shown = cli(host, "transcript", deployment_id)
    assert shown.returncode == 0, shown.stderr
    assert "http_fetch" in shown.stdout
    assert "finish" in shown.stdout
    # the SDK's requests carried the key; nothing the platform shows does
    assert stub.requests[-1].headers.get("x-api-key") == KEY or KEY in str(
        stub.requests[-1].headers
    )
    everything = json.dumps(state) + json.dumps(entries) + host.log() + shown.stdout
    assert KEY not in everything


async def test_stop_holds_the_agent_and_start_resumes_it(host, counter):
    async with aiohttp.ClientSession(base_url=host.url) as api:
        plan = [f"tally pause_seconds=0.3 label={i}" for i in range(6)]
        deployment_id = await deploy_agent(api, plan)
        await wait_for(api, deployment_id, "running")
        code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
        assert code == 202
        await wait_for(api, deployment_id, "stopped")
        held = sum(runs_of(counter, deployment_id).values())
        await asyncio.sleep(1.0)
        assert sum(runs_of(counter, deployment_id).values()) == held
        await call(api, "POST", f"/api/deployments/{deployment_id}/start")
        state = await wait_for(api, deployment_id, "completed", "failed", seconds=90)
        assert state["status"] == "completed", state
    runs = runs_of(counter, deployment_id)
    assert len(runs) == 6
    assert set(runs.values()) == {1}


async def test_an_approved_tool_runs_and_cleanup_deletes_what_it_made(host, counter):
    async with aiohttp.ClientSession(base_url=host.url) as api:
        deployment_id = await deploy_agent(
            api, ["make_note name=n-approved text=hello"], approve_tools=["make_note"]
        )
        state = await wait_for(api, deployment_id, "running")
        for _ in range(200):
            state = await (await api.get(f"/api/deployments/{deployment_id}")).json()
            if state.get("awaiting_approval"):
                break
            await asyncio.sleep(0.05)
        pending = state["awaiting_approval"]
        assert "make_note" in pending["question"]
        note = counter[1] / "n-approved"
        assert not note.exists()
        code, decided, _ = await call(
            api,
            "POST",
            f"/api/deployments/{deployment_id}/approvals/{pending['key']}",
            json={"decision": "approve", "comment": "fine"},
        )
        assert code == 200, decided
        state = await wait_for(api, deployment_id, "completed", "failed")
        assert state["status"] == "completed", state
        assert note.read_text() == "hello"
        code, preview, _ = await call(
            api, "POST", f"/api/deployments/{deployment_id}/cleanup?dry_run=true"
        )
        assert [r["kind"] for r in preview["would_delete"]] == ["tool"]
        await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
        state = await wait_for(api, deployment_id, "cleaned_up", field="phase", seconds=60)
    assert not note.exists()


async def test_kill_9_at_random_points_never_runs_a_side_effect_twice(
    storage_connection, plugin_site, stub, counter
):
    """20 times: an agent of three side-effecting calls, the host killed at a random moment
    (inside a call, between a call and its result, during a model turn) and restarted: every
    call ran exactly once and every transcript is complete and in order."""
    rng = random.Random(20261201)
    env = host_env(plugin_site, stub, counter)
    host = HostProcess(storage_connection, env=env).start()
    finished = []
    try:
        for _ in range(20):
            async with aiohttp.ClientSession(base_url=host.url) as api:
                deployment_id = await deploy_agent(
                    api, [f"tally pause_seconds=0.15 label={i}" for i in range(3)]
                )
            await asyncio.sleep(rng.uniform(0.1, 1.2))
            host.kill()
            host = HostProcess(
                storage_connection,
                env=env,
                port=host.port,
                table_prefix=host.table_prefix,
                task_hub=host.task_hub,
            ).start()
            async with aiohttp.ClientSession(base_url=host.url) as api:
                state = await wait_for(api, deployment_id, "completed", "failed", seconds=90)
                assert state["status"] == "completed", state
                entries = await transcript(api, deployment_id)
            finished.append(deployment_id)
            assert [e["index"] for e in entries] == list(range(len(entries)))
            results = [e for e in entries if e["role"] == "tool"]
            assert [r["tool_result"]["name"] for r in results] == ["tally"] * 3 + ["finish"]
            runs = runs_of(counter, deployment_id)
            assert len(runs) == 3, runs
            assert set(runs.values()) == {1}, f"a side effect ran twice: {runs}"
    finally:
        host.stop()
    assert len(finished) == 20
