"""Scheduled workloads through the local host: the real timer trigger (every second here),
the HTTP API and Azurite."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.support.host import HostProcess

EVERY_SECOND = "* * * * * *"
FAST = {"item_count": 1, "item_delay_ms": 0}


def host_env() -> dict[str, str]:
    return {"HAYMAKER_SCHEDULER_CRON": EVERY_SECOND, "HAYMAKER_SCHEDULE_GRACE_SECONDS": "2"}


@pytest.fixture(scope="module")
def host(storage_connection):
    process = HostProcess(storage_connection, env=host_env()).start()
    yield process
    process.stop()


async def call(api, method, path, **kwargs):
    async with api.request(method, path, **kwargs) as response:
        return response.status, await response.json(
            content_type=None
        ) if await response.read() else None


async def create(api, **fields):
    body = {"workload": "data-collector", "config": FAST, "cron": EVERY_SECOND, **fields}
    status, schedule = await call(api, "POST", "/api/schedules", json=body)
    assert status == 201, schedule
    return schedule


async def runs(api, schedule_id):
    status, page = await call(
        api, "GET", "/api/deployments", params={"schedule_id": schedule_id, "limit": "1000"}
    )
    assert status == 200
    return page["items"]


def at_second(moment: datetime) -> str:
    """An NCRONTAB that fires once, at `moment` (to the second)."""
    return f"{moment.second} {moment.minute} {moment.hour} {moment.day} {moment.month} *"


async def test_a_per_second_schedule_creates_deployments(api):
    schedule = await create(api, max_active=50)
    await asyncio.sleep(3.5)
    await call(api, "PATCH", f"/api/schedules/{schedule['schedule_id']}", json={"enabled": False})
    items = await runs(api, schedule["schedule_id"])
    assert len(items) >= 2
    slots = [item["metadata"]["slot"] for item in items]
    assert len(set(slots)) == len(slots)
    for item in items:
        assert item["deployment_id"].startswith(schedule["schedule_id"] + "-")
        assert item["schedule_id"] == schedule["schedule_id"]
    status, view = await call(api, "GET", f"/api/schedules/{schedule['schedule_id']}")
    assert status == 200
    assert {run["deployment_id"] for run in view["recent_runs"] if run["outcome"] == "started"} <= {
        item["deployment_id"] for item in items
    }


async def test_many_ticks_for_one_slot_make_one_deployment(api, host):
    slot = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    schedule = await create(api, cron=at_second(slot))

    async def tick():
        async with api.post("/admin/functions/schedule_tick", json={"input": ""}) as response:
            assert response.status == 202

    while datetime.now(UTC) < slot + timedelta(seconds=2):
        await asyncio.gather(*(tick() for _ in range(4)))  # plus the host's own timer
        await asyncio.sleep(0.1)
    items = await runs(api, schedule["schedule_id"])
    assert [item["metadata"]["slot"] for item in items] == [slot.isoformat()]


async def test_disabled_schedules_start_nothing(api):
    schedule = await create(api, enabled=False)
    assert schedule["next_slot"] is None
    await asyncio.sleep(2.5)
    assert await runs(api, schedule["schedule_id"]) == []


async def test_max_active_holds_and_delete_stops_active_runs(api):
    schedule = await create(
        api, config={"item_count": 1000, "batch_size": 1, "item_delay_ms": 50}, max_active=1
    )
    await asyncio.sleep(3)
    items = await runs(api, schedule["schedule_id"])
    assert len(items) == 1
    status, view = await call(api, "GET", f"/api/schedules/{schedule['schedule_id']}")
    assert "skipped_max_active" in {run["outcome"] for run in view["recent_runs"]}
    status, deleted = await call(
        api, "DELETE", f"/api/schedules/{schedule['schedule_id']}", params={"stop_runs": "true"}
    )
    assert status == 200
    assert deleted["stopped"] == [items[0]["deployment_id"]]
    deadline = time.monotonic() + 20
    while True:
        status, state = await call(api, "GET", f"/api/deployments/{items[0]['deployment_id']}")
        if state["status"] == "stopped":
            break
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.1)
    status, _ = await call(api, "GET", f"/api/schedules/{schedule['schedule_id']}")
    assert status == 404


async def test_api_errors_and_views(api):
    status, problem = await call(
        api, "POST", "/api/schedules", json={"workload": "data-collector", "cron": "* * * *"}
    )
    assert status == 422
    assert "cron" in problem["detail"]
    status, problem = await call(
        api,
        "POST",
        "/api/schedules",
        json={"workload": "data-collector", "cron": EVERY_SECOND, "time_zone": "Nowhere/Land"},
    )
    assert status == 422
    assert "time zone" in problem["detail"]
    status, problem = await call(
        api,
        "POST",
        "/api/schedules",
        json={"workload": "data-collector", "cron": EVERY_SECOND, "config": {"item_count": -1}},
    )
    assert status == 422
    assert problem["errors"][0]["key"] == "item_count"
    status, _ = await call(
        api, "POST", "/api/schedules", json={"workload": "nope", "cron": EVERY_SECOND}
    )
    assert status == 404
    assert (await call(api, "GET", "/api/schedules/sch-0000000000"))[0] == 404
    assert (await call(api, "GET", "/api/schedules/not-an-id"))[0] == 400
    assert (await call(api, "PATCH", "/api/schedules/sch-0000000000", json={"enabled": True}))[
        0
    ] == 404
    schedule = await create(api, cron="0 0 6 * * Mon-Fri", time_zone="Europe/Paris", enabled=True)
    status, view = await call(api, "GET", f"/api/schedules/{schedule['schedule_id']}")
    assert len(view["next_slots"]) == 5
    status, problem = await call(
        api, "PATCH", f"/api/schedules/{schedule['schedule_id']}", json={"cron": "bad"}
    )
    assert status == 422
    status, problem = await call(
        api, "PATCH", f"/api/schedules/{schedule['schedule_id']}", json={"colour": "red"}
    )
    assert status == 422
    status, accepted = await call(api, "POST", f"/api/schedules/{schedule['schedule_id']}/trigger")
    assert status == 202
    assert accepted["status_url"].endswith(f"/api/deployments/{accepted['deployment_id']}")
    status, listed = await call(
        api, "GET", "/api/schedules", params={"workload": "data-collector", "enabled": "true"}
    )
    assert schedule["schedule_id"] in {item["schedule_id"] for item in listed["items"]}
    status, _ = await call(api, "DELETE", f"/api/schedules/{schedule['schedule_id']}")
    assert status == 200


async def test_catch_up_after_downtime(storage_connection):
    host = HostProcess(storage_connection, env=host_env()).start()
    try:
        async with aiohttp.ClientSession(base_url=host.url) as api:
            slot = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
            skip = await create(api, cron=at_second(slot), catch_up="skip")
            latest = await create(api, cron=at_second(slot), catch_up="latest")
        host.stop()
        await asyncio.sleep(
            (slot - datetime.now(UTC)).total_seconds() + 3
        )  # slot + grace pass while down
        restarted = HostProcess(
            storage_connection,
            env=host_env(),
            table_prefix=host.table_prefix,
            task_hub=host.task_hub,
        ).start()
        try:
            async with aiohttp.ClientSession(base_url=restarted.url) as api:
                await asyncio.sleep(2)
                assert await runs(api, skip["schedule_id"]) == []
                caught_up = await runs(api, latest["schedule_id"])
                assert [item["metadata"]["slot"] for item in caught_up] == [slot.isoformat()]
                _status, view = await call(api, "GET", f"/api/schedules/{skip['schedule_id']}")
                assert view["recent_runs"][0]["outcome"] == "skipped_missed"
        finally:
            restarted.stop()
    finally:
        host.stop()
