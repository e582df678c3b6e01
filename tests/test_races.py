"""Concurrent lifecycle commands on the same deployments, against the real host.

Each run deploys a handful of long-running deployments, then fires 50 stop/start/cleanup/
status calls at them all at once (a seeded mix, loopback only, one connection per call).
While the API's ETag-guarded writes of the desired status race each other and the
orchestrations' own progress writes, the run checks:

- no 5xx, and every answer is one the API documents for that call (200/202/409, or 200);
- every deployment settles in a legal state that honours what was accepted: an accepted
  cleanup always ends cleaned up; a deployment only ever told to stop ends stopped;
- state and orchestration agree: a finished deployment has a finished orchestration, a
  stopped one has a live orchestration waiting for its doorbell (none orphaned, none stuck);
- nothing was lost or done twice: log lines are contiguous, every item collected once;
- every stopped deployment can still be started and runs to completion.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import aiohttp
import pytest

from tests.support.api import call, deploy, state, wait_for

DEPLOYMENTS = 5
CALLS = 50
ITEMS = 200
# Weighted so that some deployments escape cleanup and end stopped or completed.
ACTIONS = ["stop"] * 4 + ["start"] * 4 + ["status"] * 3 + ["cleanup"]
TERMINAL = {"completed", "failed"}
FINISHED_ORCHESTRATION = {"Completed", "Failed", "Terminated"}


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture
async def api(host):
    connector = aiohttp.TCPConnector(limit=CALLS)
    async with aiohttp.ClientSession(base_url=host.url, connector=connector) as session:
        yield session


@dataclass
class Answer:
    deployment_id: str
    action: str
    status: int
    body: dict | None


async def fire(api, deployment_id: str, action: str) -> Answer:
    if action == "status":
        code, body, _ = await call(api, "GET", f"/api/deployments/{deployment_id}")
    else:
        code, body, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/{action}")
    return Answer(deployment_id, action, code, body)


async def settle(api, deployment_id: str, seconds: float = 120.0) -> dict:
    """Wait until the deployment is where it is heading: finished, or stopped and held."""
    deadline = time.monotonic() + seconds
    while True:
        current = await state(api, deployment_id)
        if current["status"] in TERMINAL and current["desired_status"] != "cleaning_up":
            return current
        if current["status"] in TERMINAL and current["phase"] == "cleaned_up":
            return current
        if current["status"] == "stopped" and current["desired_status"] == "stopped":
            return current
        assert time.monotonic() < deadline, f"did not settle: {current}"
        await asyncio.sleep(0.1)


async def orchestration_status(api, deployment_id: str) -> str:
    code, body, _ = await call(
        api, "GET", f"/runtime/webhooks/durabletask/instances/{deployment_id}"
    )
    assert code in (200, 202), body  # 202: still running, as the Durable HTTP API answers
    return body["runtimeStatus"]


async def check_orchestration_agrees(api, final: dict, seconds: float = 30.0) -> None:
    """A finished deployment's orchestration finishes too (it returns just after its last
    activity wrote the state, hence the wait); a stopped one stays live, waiting."""
    deadline = time.monotonic() + seconds
    while True:
        runtime = await orchestration_status(api, final["deployment_id"])
        if final["status"] not in TERMINAL:
            assert runtime == "Running", (final, runtime)
            return
        if runtime in FINISHED_ORCHESTRATION:
            return
        assert time.monotonic() < deadline, f"orchestration still {runtime}: {final}"
        await asyncio.sleep(0.1)


async def check_logs_are_whole(api, deployment_id: str) -> None:
    code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/logs")
    assert code == 200
    lines = [entry["line"] for entry in page["items"]]
    assert lines == list(range(page["total"])), f"{deployment_id}: log lines lost or doubled"
    collected = Counter(
        entry["message"] for entry in page["items"] if entry["message"].startswith("Collected")
    )
    assert set(collected.values()) <= {1}, f"{deployment_id}: an item was collected twice"


def accepted_commands(answers: list[Answer]) -> dict[str, set[str]]:
    accepted: dict[str, set[str]] = defaultdict(set)
    for answer in answers:
        if answer.action != "status" and answer.status == 202:
            accepted[answer.deployment_id].add(answer.action)
    return accepted


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_concurrent_commands_end_in_legal_agreeing_states(api, seed):
    ids = [
        await deploy(api, item_count=ITEMS, batch_size=5, item_delay_ms=20)
        for _ in range(DEPLOYMENTS)
    ]
    for deployment_id in ids:
        await wait_for(api, deployment_id, "running")
    rng = random.Random(seed)
    plan = [(rng.choice(ids), rng.choice(ACTIONS)) for _ in range(CALLS)]

    answers = await asyncio.gather(*(fire(api, d, action) for d, action in plan))

    server_errors = [a for a in answers if a.status >= 500]
    assert not server_errors, server_errors
    for answer in answers:
        allowed = {200} if answer.action == "status" else {200, 202, 409}
        assert answer.status in allowed, answer
        if answer.status == 202:
            target = {"stop": "stopped", "start": "running", "cleanup": "cleaning_up"}
            assert answer.body["desired_status"] == target[answer.action], answer

    accepted = accepted_commands(answers)
    print(f"seed {seed}: {sorted(Counter((a.action, a.status) for a in answers).items())}")
    for deployment_id in ids:
        final = await settle(api, deployment_id)
        told = accepted[deployment_id]
        if "cleanup" in told:
            assert final["status"] == "completed", final
            assert final["phase"] == "cleaned_up", final
        elif told == {"stop"}:
            assert final["status"] == "stopped", final
        elif not told:
            assert final["status"] == "completed", final
        await check_orchestration_agrees(api, final)
        await check_logs_are_whole(api, deployment_id)

    # Nothing is stranded: every stopped deployment still answers its doorbell.
    for deployment_id in ids:
        current = await state(api, deployment_id)
        if current["status"] == "stopped":
            code, body, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/start")
            assert code == 202, body
            final = await wait_for(api, deployment_id, "completed", seconds=120)
            assert final["metadata"]["items_collected"] == ITEMS
            await check_orchestration_agrees(api, final)
            await check_logs_are_whole(api, deployment_id)
