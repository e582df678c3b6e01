"""Faults injected into a live host: storage going away mid-run, a poison config, kill -9
during cleanup. Each must end in a correct state that the logs explain.

(An activity raising for N attempts is driven through the real replay in
tests/test_orchestrator.py: retried to success, and failed cleanly after its last attempt.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp

from haymaker.settings import StorageSettings
from haymaker.store import Stores
from haymaker.store.tables import Tables
from tests.support.api import PROBLEM, call, deploy, wait_for
from tests.support.azurite import Azurite
from tests.support.host import HostProcess

ITEMS = 200
SLOW = {"item_count": ITEMS, "batch_size": 5, "item_delay_ms": 20}


async def check_items_once(api, deployment_id: str, expected: int) -> None:
    code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/logs")
    assert code == 200
    assert [entry["line"] for entry in page["items"]] == list(range(page["total"]))
    collected = Counter(
        entry["message"] for entry in page["items"] if entry["message"].startswith("Collected")
    )
    assert len(collected) == expected
    assert set(collected.values()) == {1}


async def test_storage_outage_mid_run_loses_nothing(tmp_path: Path) -> None:
    azurite = Azurite(location=tmp_path / "azurite").start()
    host = HostProcess(azurite.connection_string).start()
    try:
        async with aiohttp.ClientSession(base_url=host.url) as api:
            ids = [await deploy(api, **SLOW) for _ in range(3)]
            for deployment_id in ids:
                await wait_for(api, deployment_id, "running")
            await asyncio.sleep(0.5)

            azurite.stop()
            code, body, response = await call(api, "GET", f"/api/deployments/{ids[0]}")
            assert code == 503, body
            assert response.content_type == PROBLEM
            assert "storage" in body["detail"].lower()
            await asyncio.sleep(3)
            azurite = Azurite(table_port=azurite.table_port, location=tmp_path / "azurite")
            azurite.start()

            for deployment_id in ids:
                final = await wait_for(api, deployment_id, "completed", "failed", seconds=60)
                assert final["status"] == "completed", final
                assert final["metadata"]["items_collected"] == ITEMS
                await check_items_once(api, deployment_id, ITEMS)
        log = host.log()
        assert "storage is unreachable" in log, log[-3000:]
        assert "storage is reachable again" in log, log[-3000:]
    finally:
        host.stop()
        azurite.stop()


async def test_poison_config_fails_the_deployment_with_the_reason(storage_connection) -> None:
    """A config that no longer validates (written behind the API's back, or left by an older
    schema) fails the deployment at its next step, naming the key; nothing retries it."""
    host = HostProcess(storage_connection).start()
    stores = Stores(
        Tables(
            StorageSettings(connection_string=storage_connection, table_prefix=host.table_prefix)
        )
    )
    try:
        async with aiohttp.ClientSession(base_url=host.url) as api:
            deployment_id = await deploy(api, **SLOW)
            await wait_for(api, deployment_id, "running")
            await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
            await wait_for(api, deployment_id, "stopped")

            def poison(record) -> None:
                record.state.config["item_count"] = "lots"

            await stores.mutate(deployment_id, poison)
            code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/start")
            assert code == 202
            failed = await wait_for(api, deployment_id, "failed", "completed")
            assert failed["status"] == "failed", failed
            assert failed["error"].startswith("config is not valid"), failed
            assert "item_count" in failed["error"]
            code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/logs?tail=3")
            assert any("config is not valid" in entry["message"] for entry in page["items"])
            # A failed deployment can still be cleaned up: its records go, nothing is stranded.
            code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
            assert code == 202
            cleaned = await wait_for(api, deployment_id, "completed")
            assert cleaned["phase"] == "cleaned_up"
            assert await stores.resources.count(deployment_id) == 0
        assert "config is not valid" in host.log()
    finally:
        await stores.tables.close()
        host.stop()


async def test_kill_9_during_cleanup_then_restart_finishes_it(storage_connection) -> None:
    items = 1000  # five cleanup batches of 200
    host = HostProcess(storage_connection).start()
    async with aiohttp.ClientSession(base_url=host.url) as api:
        deployment_id = await deploy(api, item_count=items, batch_size=100)
        await wait_for(api, deployment_id, "completed")
        code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
        assert code == 202
        await wait_for(api, deployment_id, "cleaning_up", seconds=30)
    host.kill()

    restarted = HostProcess(
        storage_connection, port=host.port, table_prefix=host.table_prefix, task_hub=host.task_hub
    ).start()
    try:
        assert "recovered 1 live orchestration instance(s)" in restarted.log()
        async with aiohttp.ClientSession(base_url=restarted.url) as api:
            final = await wait_for(api, deployment_id, "completed", "failed", seconds=60)
            assert final["status"] == "completed", final
            assert final["phase"] == "cleaned_up"
            report = final["metadata"]["cleanup"]
            assert report["resources_deleted"] == items, report
            assert report["resources_failed"] == 0
            code, preview, _ = await call(
                api, "POST", f"/api/deployments/{deployment_id}/cleanup?dry_run=true"
            )
            assert preview["would_delete"] == []
    finally:
        restarted.stop()
