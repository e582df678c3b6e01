"""The local host running a test-only app: the engine's features through HTTP, the real
DurableOrchestrationClient against its management API, function keys and timer triggers."""

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import azure.durable_functions as df
import pytest
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from devhost.rpc import client_binding
from tests.support.azurite import ROOT
from tests.support.host import HostProcess

SAMPLE = ROOT / "tests" / "apps" / "sample"
KEY = "local-test-key"


@pytest.fixture(scope="module")
def tick_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ticks") / "ticks.txt"


@pytest.fixture(scope="module")
def host(storage_connection, tick_file):
    process = HostProcess(
        storage_connection,
        app_dir=SAMPLE,
        function_key=KEY,
        env={"SAMPLE_TICK_FILE": str(tick_file)},
    ).start()
    yield process
    process.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(headers={"x-functions-key": KEY}) as session:
        yield session


@pytest.fixture
async def client(host):
    """The SDK's own client, as a starter function gets it. Its aiohttp session is a module
    global bound to the first event loop; each test has its own loop, so close it after."""
    from azure.durable_functions.models.utils import http_utils

    yield df.DurableOrchestrationClient(json.dumps(client_binding(host.url, host.task_hub, KEY)))
    if http_utils._client_session is not None:
        await http_utils._client_session.close()
    http_utils._client_session = None


async def until(client, instance_id, status, attempts=200):
    for _ in range(attempts):
        current = await client.get_status(instance_id)
        if current.runtime_status == status:
            return current
        await asyncio.sleep(0.02)
    raise AssertionError(f"{instance_id} is {current.runtime_status}, not {status}")


async def start(http, host, name, body=None):
    async with http.post(f"{host.url}/api/start/{name}", json=body) as response:
        assert response.status == 202, await response.text()
        return await response.json()


async def wait(http, status_url, *, seconds=30.0):
    deadline = time.monotonic() + seconds
    while True:
        async with http.get(status_url) as response:
            body = await response.json()
            if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                assert response.status == 200
                return body
            assert response.status == 202
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def test_check_status_urls_work_and_fan_out_fans_in(http, host):
    payload = await start(http, host, "fan_out", {"n": 200})
    assert payload["statusQueryGetUri"].startswith(f"{host.url}/runtime/webhooks/durabletask/")
    final = await wait(http, payload["statusQueryGetUri"])
    assert final["runtimeStatus"] == "Completed"
    assert final["output"] == sum(i * i for i in range(200))
    assert final["input"] == {"n": 200}


async def test_sequential_activities(http, host):
    final = await wait(http, (await start(http, host, "sequence", {"n": 30}))["statusQueryGetUri"])
    assert final["output"] == sum(i * i for i in range(30))


async def test_retry_path_runs_attempts_with_a_timer_between(http, host, tmp_path):
    marker = tmp_path / "attempts"
    ok = await start(http, host, "with_retry", {"marker": str(marker), "fail": 2})
    final = await wait(http, ok["statusQueryGetUri"] + "&showHistory=true")
    assert final["output"] == "ok after 3"
    kinds = [event["EventType"] for event in final["historyEvents"]]
    assert kinds.count("TaskFailed") == 2
    assert kinds.count("TimerFired") == 2
    marker.unlink()
    exhausted = await start(http, host, "with_retry", {"marker": str(marker), "fail": 5})
    failed = await wait(http, exhausted["statusQueryGetUri"])
    assert failed["runtimeStatus"] == "Failed"
    assert "attempt 3 failed" in failed["output"]
    assert marker.read_text() == "3"


async def test_failure_is_reported(http, host):
    failed = await wait(http, (await start(http, host, "failing"))["statusQueryGetUri"])
    assert failed["runtimeStatus"] == "Failed"
    assert "ValueError: boom" in failed["output"]


async def test_sub_orchestration_and_timer(http, host):
    final = await wait(http, (await start(http, host, "parent"))["statusQueryGetUri"])
    assert final["output"] == {"child": 0 + 1 + 4 + 9}


async def test_continue_as_new_keeps_the_instance(http, host):
    payload = await start(http, host, "counter", 0)
    final = await wait(http, payload["statusQueryGetUri"] + "&showHistory=true")
    assert final["output"] == 4
    assert final["instanceId"] == payload["id"]
    assert final["input"] == 4  # the last generation's input
    assert sum(e["EventType"] == "TaskCompleted" for e in final["historyEvents"]) == 1


async def test_durable_client_start_status_event_terminate_purge(client, host):
    instance_id = await client.start_new("approval", "approval-1", None)
    assert instance_id == "approval-1"
    for _ in range(200):
        status = await client.get_status(instance_id)
        if status.custom_status == "waiting":
            break
        await asyncio.sleep(0.02)
    assert status.runtime_status == OrchestrationRuntimeStatus.Running
    with pytest.raises(Exception, match="already exists"):
        await client.start_new("approval", "approval-1", None)
    await client.raise_event(instance_id, "approve", {"by": "me"})
    await until(client, instance_id, OrchestrationRuntimeStatus.Completed)
    status = await client.get_status(instance_id, show_history=True, show_history_output=True)
    assert status.output == {"approved": {"by": "me"}}
    assert any(e["EventType"] == "EventRaised" for e in status.historyEvents)
    with pytest.raises(Exception, match="gone"):
        await client.raise_event(instance_id, "approve", None)

    await client.start_new("approval", "approval-2", None)
    await client.terminate("approval-2", "no longer needed")
    status = await until(client, "approval-2", OrchestrationRuntimeStatus.Terminated)
    assert status.output == "no longer needed"

    listed = await client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Terminated])
    assert "approval-2" in {s.instance_id for s in listed}
    assert (await client.purge_instance_history(instance_id)).instances_deleted == 1
    assert not await client.get_status(instance_id)
    with pytest.raises(Exception, match="No instance"):
        await client.raise_event("nobody", "approve", None)
    # an id whose run ended may be started again
    assert await client.start_new("approval", "approval-2", None) == "approval-2"
    await client.terminate("approval-2", "done")


async def test_suspend_and_resume(client):
    await client.start_new("approval", "suspended-1", None)
    await asyncio.sleep(0.3)
    await client.suspend("suspended-1", "hold on")
    await until(client, "suspended-1", OrchestrationRuntimeStatus.Suspended)
    await client.raise_event("suspended-1", "approve", True)
    await asyncio.sleep(0.3)
    assert (
        await client.get_status("suspended-1")
    ).runtime_status == OrchestrationRuntimeStatus.Suspended
    await client.resume("suspended-1", "go")
    status = await until(client, "suspended-1", OrchestrationRuntimeStatus.Completed)
    assert status.output == {"approved": True}


async def test_query_pages_with_continuation(http, host, client):
    for i in range(5):
        await client.start_new("approval", f"paged-{i}", None)
    seen, token = [], None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        url = f"{host.url}/durabletask/instances/?instanceIdPrefix=paged-&top=2"
        async with http.get(url, headers=headers) as response:
            seen += [item["instanceId"] for item in await response.json()]
            token = response.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert seen == [f"paged-{i}" for i in range(5)]
    for i in range(5):
        await client.terminate(f"paged-{i}", "cleanup")


async def test_function_keys_and_routing(host):
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.post(f"{host.url}/api/start/fan_out", json={"n": 1}) as response:
            assert response.status == 401
        async with anonymous.post(
            f"{host.url}/api/start/fan_out?code={KEY}", json={"n": 1}
        ) as response:
            assert response.status == 202
        async with anonymous.get(f"{host.url}/api/echo/a/b?q=1") as response:
            assert await response.text() == "GET a/b 1"
        async with anonymous.get(f"{host.url}/api/nothing-here%0A") as response:
            assert response.status == 404
            assert response.content_type == "application/problem+json"
            assert "nothing-here" in (await response.json())["detail"]
        async with anonymous.post(
            f"{host.url}/durabletask/orchestrators/not_an_orchestrator", data=b""
        ) as response:
            assert response.status == 400
            assert "not_an_orchestrator" in (await response.json())["ExceptionMessage"]


async def test_one_route_template_with_a_function_per_method(host):
    """As the Functions host: each function gets its own method, and a known route with a
    method no function takes is a 404, like an unknown route (Azure/azure-functions-host#10098)."""
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{host.url}/api/items/a1") as response:
            assert await response.text() == "read a1"
        async with anonymous.delete(f"{host.url}/api/items/a1") as response:
            assert await response.text() == "deleted a1"
        async with anonymous.put(f"{host.url}/api/items/a1") as response:
            assert response.status == 404
            assert response.content_type == "application/problem+json"
            assert "DELETE, GET" in (await response.json())["detail"]
        async with anonymous.get(
            f"{host.url}/api/start/fan_out", headers={"x-functions-key": KEY}
        ) as response:
            assert response.status == 404


async def test_timer_trigger_fires_on_schedule(tick_file, host):
    await asyncio.sleep(3.5)
    ticks = tick_file.read_text().split()
    assert len(ticks) >= 2
    assert set(ticks) <= {"0", "1"}
