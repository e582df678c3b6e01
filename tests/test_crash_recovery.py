"""kill -9 the local host in the middle of five deployments; a new host finishes them all,
with exact item counts and no step done twice."""

import asyncio
import time
from collections import Counter

import aiohttp

from tests.support.host import HostProcess


async def wait_all(session, base, ids, seconds=120.0):
    deadline = time.monotonic() + seconds
    states = {}
    while time.monotonic() < deadline:
        for deployment_id in ids:
            async with session.get(f"{base}/api/deployments/{deployment_id}") as response:
                states[deployment_id] = await response.json()
        if all(state["status"] in ("completed", "failed") for state in states.values()):
            return states
        await asyncio.sleep(0.2)
    raise AssertionError({i: (s["status"], s["metadata"]) for i, s in states.items()})


async def test_kill_9_mid_run_then_restart_finishes_everything(storage_connection):
    host = HostProcess(storage_connection).start()
    async with aiohttp.ClientSession() as session:
        ids = []
        for _ in range(5):
            body = {"workload": "data-collector", "config": {"item_count": 200}}
            async with session.post(f"{host.url}/api/deployments", json=body) as response:
                assert response.status == 202
                ids.append((await response.json())["deployment_id"])
        # let every deployment get some steps in, but nowhere near the end (20 steps of 0.5 s)
        await asyncio.sleep(2.5)
        progress = {}
        for deployment_id in ids:
            async with session.get(f"{host.url}/api/deployments/{deployment_id}") as response:
                progress[deployment_id] = (await response.json())["metadata"].get(
                    "items_collected", 0
                )
        host.kill()
        assert all(0 < count < 200 for count in progress.values()), progress

        restarted = HostProcess(
            storage_connection,
            port=host.port,
            table_prefix=host.table_prefix,
            task_hub=host.task_hub,
        ).start()
        try:
            assert "recovered 5 live orchestration instance(s)" in restarted.log()
            states = await wait_all(session, restarted.url, ids)
            for deployment_id, state in states.items():
                assert state["status"] == "completed", state
                assert state["metadata"]["items_collected"] == 200
                assert state["metadata"]["goal_achieved"] is True
                async with session.get(
                    f"{restarted.url}/api/deployments/{deployment_id}/logs"
                ) as response:
                    page = await response.json()
                lines = [entry["message"] for entry in page["items"]]
                assert [entry["line"] for entry in page["items"]] == list(range(page["total"]))
                collected = Counter(line for line in lines if line.startswith("Collected item"))
                assert len(collected) == 200
                assert set(collected.values()) == {1}, "a completed step ran again"
                assert lines.count("Phase collecting started") == 1
                assert lines.count("Deployment completed after 22 steps") == 1
        finally:
            restarted.stop()
