"""Lifecycle events through the real app on the local host: the subscriptions and feed API,
the CLI, a deployment's events reaching a webhook while a slow endpoint holds up nothing,
and kill -9 of the host losing no event."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter

import aiohttp
import pytest
from typer.testing import CliRunner

from haymaker.events.signature import HEADER, verify
from haymaker_cli import app as cli
from tests.support.api import call, deploy, expect_problem, wait_for
from tests.support.host import HostProcess
from tests.support.webhook_receiver import Receiver

SECRET = "webhook-secret-for-host-tests-77"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
LIFE = [
    "deployment.created",
    "deployment.started",
    "deployment.phase_changed",
    "deployment.phase_changed",
    "deployment.completed",
]
ENV = {
    "HAYMAKER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "HAYMAKER_WEBHOOK_BACKOFF_SECONDS": "0.1",
    "HAYMAKER_WEBHOOK_TIMEOUT_SECONDS": "20",
}


@pytest.fixture(scope="module")
def host(storage_connection):
    process = HostProcess(storage_connection, env=ENV).start()
    yield process
    process.stop()


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


async def subscribe(api, url: str, **fields) -> dict:
    body = {"url": url, "secret": SECRET, **fields}
    code, view, _ = await call(api, "POST", "/api/subscriptions", json=body)
    assert code == 201, view
    return view


async def feed(api, subject: str) -> list[dict]:
    code, page, _ = await call(api, "GET", "/api/events", params={"subject": subject})
    assert code == 200, page
    return page["items"]


async def feed_once_it_holds(
    api, subject: str, types: list[str], seconds: float = 30
) -> list[dict]:
    """The dispatcher moves events from the outbox to the feed on its own schedule, so a
    deployment can read completed a moment before its last event is listed."""
    deadline = time.monotonic() + seconds
    while True:
        items = await feed(api, subject)
        listed = [e["type"] for e in items]
        if listed == types:
            return items
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.1)


async def test_subscriptions_are_managed_through_the_api_and_never_show_the_secret(api, receiver):
    view = await subscribe(api, receiver.url, event_types=["deployment.failed"])
    assert view["url"] == receiver.url
    assert view["event_types"] == ["deployment.failed"]
    assert view["delivery"]["delivered"] == 0
    subscription_id = view["subscription_id"]
    code, listed, _ = await call(api, "GET", "/api/subscriptions")
    assert code == 200
    assert subscription_id in [item["subscription_id"] for item in listed["items"]]
    code, shown, _ = await call(api, "GET", f"/api/subscriptions/{subscription_id}")
    assert code == 200
    for text in (json.dumps(view), json.dumps(listed), json.dumps(shown)):
        assert SECRET not in text
        assert "secret" not in json.loads(text) if text.startswith("{") else True
    code, letters, _ = await call(api, "GET", f"/api/subscriptions/{subscription_id}/dead-letters")
    assert (code, letters["items"]) == (200, [])
    code, _, _ = await call(api, "DELETE", f"/api/subscriptions/{subscription_id}")
    assert code == 200
    await expect_problem(api, "GET", f"/api/subscriptions/{subscription_id}", 404)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://10.1.2.3/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[::1]/hook", "loopback"),
    ],
)
async def test_a_refused_target_is_a_422_naming_the_rule(api, url, why):
    body = await expect_problem(
        api, "POST", "/api/subscriptions", 422, json={"url": url, "secret": SECRET}
    )
    assert why in body["detail"]
    assert SECRET not in json.dumps(body)


async def test_a_short_secret_is_refused_without_being_echoed(api, receiver):
    body = await expect_problem(
        api, "POST", "/api/subscriptions", 422, json={"url": receiver.url, "secret": "tiny-secret"}
    )
    assert "tiny-secret" not in json.dumps(body)


async def test_a_deployments_events_reach_the_webhook_signed_and_in_its_trace(api, receiver):
    view = await subscribe(api, receiver.url)
    code, accepted, _ = await call(
        api,
        "POST",
        "/api/deployments",
        json={"workload": "data-collector", "config": {"item_count": 3, "item_delay_ms": 0}},
        headers={"traceparent": TRACEPARENT},
    )
    assert code == 202
    deployment_id = accepted["deployment_id"]
    state = await wait_for(api, deployment_id, "completed")
    assert state["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]
    await receiver.wait_for(len(LIFE))
    mine = [e for e in receiver.accepted() if e["subject"] == deployment_id]
    assert [e["type"] for e in mine] == LIFE
    assert {e["traceparent"].split("-")[1] for e in mine} == {TRACEPARENT.split("-")[1]}
    for delivery in receiver.deliveries:
        assert verify(SECRET, delivery.headers[HEADER], delivery.body, now=time.time())
    # the feed holds the same events, with the same ids, and pages by cursor
    listed = await feed(api, deployment_id)
    assert [e["id"] for e in listed] == [e["id"] for e in mine]
    code, first, _ = await call(api, "GET", "/api/events", params={"limit": 1})
    code, rest, _ = await call(api, "GET", "/api/events", params={"after": first["cursor"]})
    assert first["items"][0]["id"] not in [e["id"] for e in rest["items"]]
    code, shown, _ = await call(api, "GET", f"/api/subscriptions/{view['subscription_id']}")
    assert shown["delivery"]["delivered"] >= len(LIFE)


async def test_a_slow_endpoint_does_not_hold_up_a_running_deployment(api):
    """The endpoint keeps every request until the test lets go: the deployment runs to the
    end meanwhile (deliveries run beside the steps, never inside them), then its events
    arrive, in order."""
    slow = Receiver(hold=True).start()
    try:
        await subscribe(api, slow.url)
        deployment_id = await deploy(api, item_count=5)
        await wait_for(api, deployment_id, "completed")
        assert slow.deliveries == []  # not one delivery has been answered yet
        slow.released.set()
        await slow.wait_for(len(LIFE))
        mine = [e for e in slow.accepted() if e["subject"] == deployment_id]
        unique = list({e["id"]: e for e in mine}.values())
        assert [e["type"] for e in unique] == LIFE
    finally:
        slow.stop()


def cli_run(host: HostProcess, *args: str, env: dict[str, str] | None = None):
    environment = {**os.environ, "HAYMAKER_URL": host.url, **(env or {})}
    environment.pop("HAYMAKER_KEY", None)
    return CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)


async def test_the_cli_subscribes_lists_removes_and_prints_events(api, host, receiver):
    added = await asyncio.to_thread(
        cli_run,
        host,
        "subscription",
        "add",
        receiver.url,
        "--event",
        "deployment.completed",
        "--json",
        env={"HAYMAKER_WEBHOOK_SECRET": SECRET},
    )
    assert added.exit_code == 0, added.output
    assert SECRET not in added.output
    subscription_id = json.loads(added.output)["subscription_id"]
    listed = await asyncio.to_thread(cli_run, host, "subscription", "list", "--json")
    assert subscription_id in [item["subscription_id"] for item in json.loads(listed.output)]
    table = await asyncio.to_thread(cli_run, host, "subscription", "list")
    assert table.exit_code == 0
    deployment_id = await deploy(api, item_count=2)
    await wait_for(api, deployment_id, "completed")
    printed = await asyncio.to_thread(
        cli_run, host, "events", "--deployment", deployment_id, "--json"
    )
    assert printed.exit_code == 0, printed.output
    types = [json.loads(line)["type"] for line in printed.output.splitlines()]
    assert types == LIFE
    text = await asyncio.to_thread(cli_run, host, "events", "--deployment", deployment_id)
    assert "deployment.completed" in text.output
    assert deployment_id in text.output
    removed = await asyncio.to_thread(
        cli_run, host, "subscription", "remove", subscription_id, "--yes"
    )
    assert removed.exit_code == 0, removed.output
    gone = await asyncio.to_thread(cli_run, host, "subscription", "show", subscription_id)
    assert gone.exit_code == 3


async def test_kill_9_between_state_changes_and_delivery_loses_no_event(storage_connection):
    """Host A runs a deployment while the endpoint fails, so its events are written but not
    delivered; A is killed mid-run; host B on the same storage finishes the deployment and
    delivers every event, the ones A wrote included. Redeliveries carry the same ids."""
    receiver = Receiver(failing=True).start()
    env = {**ENV, "HAYMAKER_WEBHOOK_TIMEOUT_SECONDS": "2"}
    first = HostProcess(storage_connection, env=env).start()
    second = None
    try:
        async with aiohttp.ClientSession(base_url=first.url) as api:
            await subscribe(api, receiver.url)
            deployment_id = await deploy(api, item_count=40, item_delay_ms=50, batch_size=2)
            await wait_for(api, deployment_id, "collecting", field="phase")
        first.kill()
        assert [d.status for d in receiver.deliveries].count(200) == 0
        receiver.failing = False
        second = HostProcess(
            storage_connection,
            env=env,
            port=first.port,
            table_prefix=first.table_prefix,
            task_hub=first.task_hub,
        ).start()
        async with aiohttp.ClientSession(base_url=second.url) as api:
            await wait_for(api, deployment_id, "completed", seconds=120)
            expected = await feed_once_it_holds(api, deployment_id, LIFE)
            await receiver.wait_for(len(LIFE), seconds=90)
            deadline = time.monotonic() + 60
            while {e["id"] for e in expected} - {e["id"] for e in receiver.accepted()}:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
        got = [e for e in receiver.accepted() if e["subject"] == deployment_id]
        unique = list({e["id"]: e for e in got}.values())
        assert [e["id"] for e in unique] == [e["id"] for e in expected]  # none lost, in order
        duplicates = {i: n for i, n in Counter(e["id"] for e in got).items() if n > 1}
        # a duplicate is the same event again (same id, same body): the receiver drops it
        for event_id in duplicates:
            bodies = {json.dumps(e, sort_keys=True) for e in got if e["id"] == event_id}
            assert len(bodies) == 1
    finally:
        receiver.stop()
        first.stop()
        if second is not None:
            second.stop()
