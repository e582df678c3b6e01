"""Durable overhead per agent turn: a goal-agent on the local host (Azurite, the real
Anthropic SDK against a loopback stub that answers at once) against the same loop run in this
process without durability (the floor).

A turn is a model turn and the tool call it asks for (memory_read, which reads one note):
two durable steps. The host's figure for each turn is the time from the start of one model
turn's step to the start of the next (from the deployment's step rows, so polling does not
enter it); the floor runs the same SDK call against the same stub and the same tool in a
plain loop. Printed: p50/p95 ms per turn on the host, turns/s, the floor's p50, the overhead
(host - floor) and the ratio. Goal: p50 overhead <= 50 ms per turn.

    .venv/bin/python bench/agent.py [--turns 40] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from devhost.azurite import Azurite, free_port  # noqa: E402
from haymaker.llm import LLMConfig, Provider, ToolCall, UserMessage, create_llm_client  # noqa: E402
from haymaker.settings import StorageSettings  # noqa: E402
from haymaker.store import Stores  # noqa: E402
from haymaker.store.tables import Tables  # noqa: E402
from haymaker.tools import Toolbox, ToolContext, get_registry  # noqa: E402
from haymaker_cli.dev import start_host  # noqa: E402
from tests.support import agent_policy  # noqa: E402
from tests.support.llm_stub import LLMStub  # noqa: E402

GOAL_MS = 50.0
KEY = "sk-bench"


def plan(turns: int) -> str:
    return "Bench. PLAN: " + "; ".join(f"memory_read key=k{i}" for i in range(turns - 1))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def on_host(
    url: str, storage: str, prefix: str, turns: int
) -> tuple[list[float], list[float]]:
    """Per turn: its time on the host; per act step: its time inside the activity."""
    body = {
        "workload": "goal-agent",
        "config": {"goal": plan(turns), "tools": ["memory_read"], "max_turns": turns + 2},
    }
    async with aiohttp.ClientSession(base_url=url) as api:
        async with api.post("/api/deployments", json=body) as response:
            deployment_id = (await response.json())["deployment_id"]
        while True:
            async with api.get(f"/api/deployments/{deployment_id}") as response:
                state = await response.json()
            if state["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
    assert state["status"] == "completed", state
    tables = Tables(StorageSettings(connection_string=storage, table_prefix=prefix))
    marks = await Stores(tables).logs.steps(deployment_id, limit=10_000)
    await tables.close()
    act = [m for m in marks if m.phase == "act"]
    starts = [m.started_at for m in act if m.llm_calls]
    turns_ms = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(starts)]
    inside_ms = [(m.finished_at - m.started_at).total_seconds() * 1000 for m in act]
    return turns_ms, inside_ms


async def in_process(stub: LLMStub, storage: str, turns: int) -> list[float]:
    """The floor: the same SDK call and tool per turn, no storage of the agent's own."""
    client = create_llm_client(
        LLMConfig(provider=Provider.ANTHROPIC, model="claude-stub", endpoint=stub.url, api_key=KEY)
    )
    tables = Tables(StorageSettings(connection_string=storage, table_prefix="benchfloor"))
    stores = Stores(tables)
    toolbox = await Toolbox.open([get_registry()], ["memory_read", "finish"])
    ctx = ToolContext.from_config("bench-floor", {}, memory=stores.memory)
    messages: list = [UserMessage(content=plan(turns))]
    durations = []
    for _ in range(turns - 1):
        started = time.perf_counter()
        response = await client.complete(messages, tools=toolbox.specs(), max_tokens=256)
        messages.append(response.message)
        for call in response.tool_calls:
            outcome = await toolbox.run(
                ToolCall(id=call.id, name=call.name, arguments=call.arguments), ctx
            )
            messages.append(outcome.to_result(call.id))
        durations.append((time.perf_counter() - started) * 1000)
    await client.close()
    await tables.close()
    return durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3, help="deployments measured, pooled")
    args = parser.parse_args()
    stub = LLMStub().start()
    stub.respond = agent_policy.respond
    azurite = Azurite(ROOT)
    host = None
    try:
        azurite.start()
        prefix = f"agent{uuid.uuid4().hex[:8]}"
        os.environ.update(
            {
                "AzureWebJobsStorage": azurite.connection_string,
                "HAYMAKER_TABLE_PREFIX": prefix,
                "HAYMAKER_DEPLOY_RATE_LIMIT": "0",
                "LLM_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": KEY,
                "ANTHROPIC_BASE_URL": stub.url,
            }
        )
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="haymaker-agent-bench-")) / "host.log"
        host = start_host(ROOT, port, azurite.connection_string, log)
        url = f"http://127.0.0.1:{port}"
        asyncio.run(on_host(url, azurite.connection_string, prefix, 5))  # warm-up
        durable, inside, per_run = [], [], []
        for _ in range(args.runs):  # pooled: one deployment's p50 swings with the machine
            turns_ms, inside_ms = asyncio.run(
                on_host(url, azurite.connection_string, prefix, args.turns)
            )
            durable += turns_ms
            inside += inside_ms
            per_run.append(statistics.median(turns_ms))
        floor = asyncio.run(in_process(stub, azurite.connection_string, args.turns))
    finally:
        if host is not None:
            host.stop()
        azurite.stop()
        stub.stop()
    p50, p95 = statistics.median(durable), percentile(durable, 0.95)
    floor_p50 = statistics.median(floor)
    overhead = p50 - floor_p50
    print(
        f"turns measured: {len(durable)} on the host ({args.runs} deployments, p50s "
        + ", ".join(f"{value:.1f}" for value in per_run)
        + f" ms), {len(floor)} in process"
    )
    print(f"host: p50 {p50:.1f} ms, p95 {p95:.1f} ms per turn, {1000 / p50:.1f} turns/s")
    print(
        f"of which inside the step activities: p50 {statistics.median(inside):.1f} ms per step "
        "(two steps a turn); the rest is the orchestration's scheduling and replay"
    )
    print(f"floor (in process, no durability): p50 {floor_p50:.1f} ms per turn")
    print(
        f"durable overhead per turn: p50 {overhead:.1f} ms (goal <= {GOAL_MS:.0f} ms: ratio "
        f"{overhead / GOAL_MS:.2f}); host / floor {p50 / floor_p50:.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
