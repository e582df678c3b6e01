"""Lifecycle events in-process, on Azurite: each change writes exactly its events in its own
transaction, the feed holds each once in order, and sinks get them at least once, signed,
retried and dead-lettered as documented."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haymaker.approvals import Decision, PendingApproval
from haymaker.events.signature import HEADER, verify
from haymaker.events.subscriptions import SubscriptionSpec
from haymaker.events.types import TRANSITION_EVENTS, EventType
from haymaker.models import DeploymentState, DeploymentStatus
from haymaker.runtime import Runtime
from haymaker.settings import Settings, StorageSettings
from haymaker.store import DeploymentRecord, Stores, close_stores, outbox
from haymaker.store.tables import Tables
from haymaker.transitions import TRANSITIONS
from tests.support.webhook_receiver import Receiver

S = DeploymentStatus
E = EventType
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "s3cret-for-webhook-tests-0001"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def record(deployment_id: str, **fields) -> DeploymentRecord:
    return DeploymentRecord(
        state=DeploymentState(
            deployment_id=deployment_id, workload_name="data-collector", created_at=NOW, **fields
        )
    )


def runtime_for(storage: StorageSettings, **env: str) -> Runtime:
    from haymaker.workloads.registry import get_registry

    settings = Settings.from_env(
        {
            **os.environ,
            "AzureWebJobsStorage": storage.connection_string or "",
            "HAYMAKER_TABLE_PREFIX": storage.table_prefix,
            "HAYMAKER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "HAYMAKER_WEBHOOK_BACKOFF_SECONDS": "0.05",
            "HAYMAKER_WEBHOOK_TIMEOUT_SECONDS": "5",
            **env,
        }
    )
    return Runtime(settings=settings, registry=get_registry())


def quiet(runtime: Runtime) -> Stores:
    """The runtime's stores without the nudger: each test dispatches when it says so."""
    from haymaker.runtime import get_stores_of

    return get_stores_of(runtime)


async def outbox_types(stores: Stores, deployment_id: str) -> list[str]:
    table = await stores.tables.get("deployments")
    return [row.event.type for row in await outbox.pending(table, "deployments", deployment_id)]


# -- which events ------------------------------------------------------------------------------


def test_every_legal_transition_has_exactly_one_event_type():
    legal = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
    assert set(TRANSITION_EVENTS) == legal


def walks() -> st.SearchStrategy[list[tuple[str, object]]]:
    """Random lives of a deployment: legal transitions, phase changes, approvals asked and
    decided, budget asks and changes no event cares about, in any legal order."""

    @st.composite
    def walk(draw: st.DrawFn) -> list[tuple[str, object]]:
        status, waiting, moves = S.PENDING, False, []
        for _ in range(draw(st.integers(1, 10))):
            options: list[tuple[str, object]] = [("metadata", None), ("phase", None)]
            options += [("move", target) for target in sorted(TRANSITIONS[status])]
            options += [("decide", None)] if waiting else [("ask", None), ("budget", None)]
            move = draw(st.sampled_from(options))
            if move[0] == "move":
                status = move[1]
            elif move[0] in ("ask", "budget"):
                waiting = True
            elif move[0] == "decide":
                waiting = False
            moves.append(move)
        return moves

    return walk()


def apply(move: tuple[str, object], rec: DeploymentRecord, n: int) -> list[str]:
    """Make the change on `rec`; the event types it must emit, in order."""
    kind, target = move
    state = rec.state
    if kind == "metadata":
        state.metadata["n"] = n
        return []
    if kind == "phase":
        state.phase = f"phase-{n}"
        return [E.PHASE_CHANGED]
    if kind == "move":
        assert isinstance(target, DeploymentStatus)
        source = state.status
        rec.move_to(target, NOW)
        return [TRANSITION_EVENTS[(source, target)]]
    if kind in ("ask", "budget"):
        state.awaiting_approval = PendingApproval(
            key=f"k{n}", question="go?", options=["approve", "reject"], requested_at=NOW
        )
        if kind == "budget":
            rec.progress.budget_asks += 1
            state.metadata["budget_exhausted"] = f"max_llm_calls {n}"
            return [E.BUDGET_EXHAUSTED, E.APPROVAL_REQUESTED]
        return [E.APPROVAL_REQUESTED]
    assert state.awaiting_approval is not None
    rec.progress.decisions[state.awaiting_approval.key] = Decision(
        decision="approve", decided_by="tester", decided_at=NOW
    )
    state.awaiting_approval = None
    return [E.APPROVAL_DECIDED]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=walks())
def test_every_change_writes_exactly_its_events(storage_connection: str, moves):
    """Over random walks of the transition table (with approvals, budgets and phases), each
    mutate leaves exactly the events of its change in the outbox, in order, and a change no
    event cares about leaves none."""

    async def check() -> None:
        tables = Tables(
            StorageSettings(
                connection_string=storage_connection, table_prefix=f"p{uuid.uuid4().hex[:12]}"
            )
        )
        stores = Stores(tables)
        try:
            await stores.deployments.create(record("dep-walk"))
            expected = [E.CREATED]
            assert await outbox_types(stores, "dep-walk") == expected
            for n, move in enumerate(moves):
                wanted: list[str] = []

                def change(rec: DeploymentRecord, move=move, n=n, wanted=wanted) -> None:
                    wanted[:] = apply(move, rec, n)

                await stores.mutate("dep-walk", change)
                expected += wanted
                assert await outbox_types(stores, "dep-walk") == expected, move
            stored = await stores.deployments.get("dep-walk")
            assert stored.progress.events == len(expected)
        finally:
            await tables.delete_all()
            await tables.close()

    asyncio.run(check())


async def test_a_step_that_changes_nothing_events_care_about_writes_no_event(stores: Stores):
    await stores.deployments.create(record("dep-quiet"))
    await stores.mutate("dep-quiet", lambda rec: rec.state.metadata.update(items=3))
    await stores.mutate("dep-quiet", lambda rec: rec.log("a line", NOW))
    assert await outbox_types(stores, "dep-quiet") == [E.CREATED]


async def test_the_events_carry_what_changed(stores: Stores):
    await stores.deployments.create(record("dep-data", tags={"team": "a"}))

    def start(rec: DeploymentRecord) -> None:
        rec.move_to(S.RUNNING, NOW)
        rec.state.phase = "collecting"

    await stores.mutate("dep-data", start)
    table = await stores.tables.get("deployments")
    rows = await outbox.pending(table, "deployments", "dep-data")
    started = rows[-1].event
    assert started.type == E.STARTED
    assert started.subject == "dep-data"
    assert started.time == NOW
    assert started.data["status"] == "running"
    assert started.data["phase"] == "collecting"
    assert started.data["tags"] == {"team": "a"}
    assert started.data["changed"]["status"] == {"from": "pending", "to": "running"}
    assert started.data["changed"]["phase"] == {"from": "pending", "to": "collecting"}
    # the deployment's own trace, which every span of its run joins
    assert started.traceparent is None or re.fullmatch(
        r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", started.traceparent
    )


async def test_a_lost_write_leaves_no_event(stores: Stores):
    """The outbox rows are in the entity's transaction: a write refused for a stale ETag
    writes neither, and the retried change writes its event once."""
    await stores.deployments.create(record("dep-stale"))
    stale = await stores.deployments.get("dep-stale")
    await stores.mutate("dep-stale", lambda rec: rec.state.metadata.update(x=1))  # moves the ETag
    stale.move_to(S.RUNNING, NOW)
    from azure.core.exceptions import ResourceModifiedError

    from haymaker.events import derive

    with pytest.raises(ResourceModifiedError):
        await stores.deployments.replace(stale, derive.changes(derive.Before.of(stale), stale))
    assert await outbox_types(stores, "dep-stale") == [E.CREATED]
    assert (await stores.deployments.get("dep-stale")).state.status == S.PENDING


# -- the feed ----------------------------------------------------------------------------------


async def test_events_written_while_nothing_dispatched_are_all_moved_once(
    stores: Stores, storage_settings: StorageSettings
):
    """The host died after the state changes and before any delivery: a dispatcher that
    starts later finds every event in the outboxes; moving twice, or after a crash between
    the feed write and the outbox delete, adds nothing twice."""
    for name in ("dep-a", "dep-b"):
        await stores.deployments.create(record(name))
        await stores.mutate(name, lambda rec: rec.move_to(S.RUNNING, NOW))
        await stores.mutate(name, lambda rec: rec.move_to(S.STOPPED, NOW))
    runtime = runtime_for(storage_settings)
    try:
        dispatcher = runtime.dispatcher()
        # a crash after the feed write, before the outbox rows were deleted
        table = await stores.tables.get("deployments")
        rows = await outbox.pending(table, "deployments", "dep-a")
        await stores.feed.append(rows, dispatcher.compose)
        report = await dispatcher.sweep()
        assert report.moved == 3  # dep-b's three; dep-a's were in the feed already
        assert await dispatcher.sweep() == type(report)(moved=0)
        events = await stores.feed.read(after=0)
        assert [e.seq for e in events] == list(range(1, 7))
        assert len({e.event["id"] for e in events}) == 6
        by_deployment = {
            name: [e.event["type"] for e in events if e.event["subject"] == name]
            for name in ("dep-a", "dep-b")
        }
        assert by_deployment == {
            "dep-a": [E.CREATED, E.STARTED, E.STOPPED],
            "dep-b": [E.CREATED, E.STARTED, E.STOPPED],
        }
        assert await outbox_types(stores, "dep-a") == []
        only_b = await stores.feed.read(after=0, subject="dep-b")
        assert [e.event["type"] for e in only_b] == by_deployment["dep-b"]
        assert [e.seq for e in await stores.feed.read(after=4)] == [5, 6]
    finally:
        await close_stores()


async def test_the_feed_is_cloudevents_json(stores: Stores, storage_settings: StorageSettings):
    from cloudevents.core.bindings.http import HTTPMessage, from_http_event

    await stores.deployments.create(record("dep-ce"))
    runtime = runtime_for(storage_settings, WEBSITE_SITE_NAME="func-test")
    try:
        await runtime.dispatcher().sweep()
        [item] = await stores.feed.read(after=0)
        import json

        message = HTTPMessage(
            headers={"content-type": "application/cloudevents+json"},
            body=json.dumps(item.event).encode(),
        )
        event = from_http_event(message)  # the reference SDK parses and validates it
        attributes = event.get_attributes()
        assert attributes["specversion"] == "1.0"
        assert attributes["type"] == "deployment.created"
        assert attributes["source"] == "/haymaker/func-test"
        assert attributes["subject"] == "dep-ce"
        assert attributes["datacontenttype"] == "application/json"
        assert attributes["id"] == item.event["id"]
        assert event.get_data()["status"] == "pending"
    finally:
        await close_stores()


async def test_purge_leaves_its_event_in_the_emptied_partition(
    stores: Stores, storage_settings: StorageSettings
):
    """deployment.purged is written in the delete's transaction, into the outbox of the
    partition the entity leaves; once moved, the partition is empty."""
    from haymaker.retention import Retention
    from haymaker.workloads.registry import get_registry

    await stores.deployments.create(record("dep-gone"))
    await stores.mutate("dep-gone", lambda rec: rec.move_to(S.FAILED, NOW))

    async def no_history(deployment_id: str) -> None:
        return None

    await Retention(stores, get_registry(), no_history, clock=lambda: NOW).purge("dep-gone")
    assert await outbox_types(stores, "dep-gone") == [E.CREATED, E.FAILED, E.PURGED]
    runtime = runtime_for(storage_settings)
    try:
        await runtime.dispatcher().sweep()
        events = await stores.feed.read(after=0, subject="dep-gone")
        assert [e.event["type"] for e in events] == [E.CREATED, E.FAILED, E.PURGED]
        table = await stores.tables.get("deployments")
        left = [row async for row in table.query_entities("PartitionKey eq 'dep-gone'")]
        assert left == []
    finally:
        await close_stores()


async def test_a_fired_schedule_is_an_event(stores: Stores, storage_settings: StorageSettings):
    from haymaker.schedules.models import ScheduleSpec
    from haymaker.schedules.scheduler import Scheduler
    from haymaker.workloads.registry import get_registry

    started: list[str] = []

    async def starter(deployment_id: str) -> None:
        started.append(deployment_id)

    scheduler = Scheduler(stores, get_registry(), starter, clock=lambda: NOW)
    schedule = await scheduler.create(
        ScheduleSpec(workload="data-collector", cron="0 0 * * * *", config={"item_delay_ms": 0})
    )
    deployment_id = await scheduler.trigger(schedule.schedule_id)
    runtime = runtime_for(storage_settings)
    try:
        await runtime.dispatcher().sweep()
        fired = await stores.feed.read(after=0, subject=schedule.schedule_id)
        assert [e.event["type"] for e in fired] == ["schedule.fired"]
        assert fired[0].event["data"]["deployment_id"] == deployment_id
        assert fired[0].event["data"]["outcome"] == "triggered"
        created = await stores.feed.read(after=0, subject=deployment_id)
        assert [e.event["type"] for e in created] == [E.CREATED]
    finally:
        await close_stores()


# -- webhooks ----------------------------------------------------------------------------------


async def subscribe(runtime: Runtime, url: str, **fields) -> str:
    stores = quiet(runtime)
    spec = SubscriptionSpec(url=url, secret=SECRET, **fields)
    subscription = await stores.subscriptions.create(spec, NOW, await stores.feed.head())
    return subscription.subscription_id


async def three_deployments(stores: Stores) -> None:
    for name in ("dep-x", "dep-y", "dep-z"):
        await stores.deployments.create(record(name))
        await stores.mutate(name, lambda rec: rec.move_to(S.RUNNING, NOW))
        await stores.mutate(name, lambda rec: rec.move_to(S.COMPLETED, NOW))


async def test_an_endpoint_that_fails_five_times_gets_each_event_once_in_order(
    storage_settings: StorageSettings,
):
    receiver = Receiver(fail_first=5).start()
    runtime = runtime_for(storage_settings)
    try:
        stores = quiet(runtime)
        await subscribe(runtime, receiver.url)
        await three_deployments(stores)
        await runtime.dispatcher().sweep()
        events = await receiver.wait_for(9)
        assert [d.status for d in receiver.deliveries[:5]] == [500] * 5
        unique = list({e["id"]: e for e in events}.values())
        assert len(unique) == 9  # each event once after de-duplication by id
        for name in ("dep-x", "dep-y", "dep-z"):
            kinds = [e["type"] for e in unique if e["subject"] == name]
            assert kinds == [E.CREATED, E.STARTED, E.COMPLETED]
        for delivery in receiver.deliveries:
            assert verify(SECRET, delivery.headers[HEADER], delivery.body, now=time.time())
            assert delivery.headers["Content-Type"].startswith("application/cloudevents+json")
    finally:
        receiver.stop()
        await close_stores()


async def test_subscriptions_get_only_the_types_they_asked_for(storage_settings: StorageSettings):
    receiver = Receiver().start()
    runtime = runtime_for(storage_settings)
    try:
        stores = quiet(runtime)
        await subscribe(runtime, receiver.url, event_types=["deployment.completed"])
        await three_deployments(stores)
        await runtime.dispatcher().sweep()
        events = await receiver.wait_for(3)
        assert {e["type"] for e in events} == {"deployment.completed"}
    finally:
        receiver.stop()
        await close_stores()


async def test_a_delivery_that_keeps_failing_is_dead_lettered_and_delivery_goes_on(
    storage_settings: StorageSettings,
):
    receiver = Receiver(failing=True).start()
    # a retry window of 0.36 s, so the test sees it end
    runtime = runtime_for(storage_settings, HAYMAKER_WEBHOOK_RETRY_HOURS="0.0001")
    try:
        stores = quiet(runtime)
        subscription_id = await subscribe(runtime, receiver.url)
        await stores.deployments.create(record("dep-dead"))
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            await runtime.dispatcher().sweep()
            delivery = await stores.subscriptions.delivery(f"webhook-{subscription_id}")
            if delivery and delivery.dead_lettered:
                break
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        page = await stores.subscriptions.dead_letters(f"webhook-{subscription_id}")
        [letter] = page.items
        assert letter.event["type"] == E.CREATED
        assert "HTTP 500" in letter.error
        assert "/hook" not in letter.error  # the URL's path may hold a token: never shown
        assert delivery.attempts == 0
        assert delivery.cursor == letter.seq
        receiver.failing = False
        await stores.mutate("dep-dead", lambda rec: rec.move_to(S.RUNNING, NOW))
        await runtime.dispatcher().sweep()
        assert [e["type"] for e in await receiver.wait_for(1)] == [E.STARTED]
    finally:
        receiver.stop()
        await close_stores()


async def test_a_slow_endpoint_is_left_for_a_later_run(storage_settings: StorageSettings):
    """A failure whose next retry is far off is not waited for: the run ends and records
    when to try again."""
    receiver = Receiver(failing=True).start()
    runtime = runtime_for(storage_settings, HAYMAKER_WEBHOOK_BACKOFF_SECONDS="60")
    try:
        stores = quiet(runtime)
        subscription_id = await subscribe(runtime, receiver.url)
        await stores.deployments.create(record("dep-later"))
        [report] = (await runtime.dispatcher().sweep()).deliveries
        assert report.delivered == 0
        assert len(report.errors) == 1
        delivery = await stores.subscriptions.delivery(f"webhook-{subscription_id}")
        assert delivery is not None
        assert delivery.next_attempt_at is not None
        assert delivery.lease_until is None  # released for the next run
        [again] = (await runtime.dispatcher().sweep()).deliveries
        assert again.skipped
        assert len(receiver.deliveries) == 1
    finally:
        receiver.stop()
        await close_stores()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://10.0.0.7/hook", "private"),
        ("https://127.0.0.2/hook", "loopback"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://169.254.10.10/x", "link-local"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://metadata.google.internal/x", "metadata"),
        ("https://user:pw@93.184.215.14/hook", "password"),
        ("https://2130706433/hook", "usual form"),
        ("https://localhost/hook", "loopback"),
        ("ftp://93.184.215.14/x", "https"),
    ],
)
async def test_webhook_targets_are_refused_by_the_fetch_rules(url: str, reason: str):
    from haymaker.errors import ValidationFailedError
    from haymaker.events.webhooks import check_target, webhook_policy

    with pytest.raises(ValidationFailedError, match=reason):
        await check_target(url, webhook_policy(["127.0.0.1"]))


async def test_listed_hosts_may_use_http_and_private_addresses():
    from haymaker.errors import ValidationFailedError
    from haymaker.events.webhooks import check_target, webhook_policy

    policy = webhook_policy(["127.0.0.1", "10.0.0.7"])
    await check_target("http://127.0.0.1:8080/hook", policy)
    await check_target("https://10.0.0.7/hook", policy)
    await check_target("https://93.184.215.14/hook", policy)  # any public address
    with pytest.raises(ValidationFailedError, match="https"):
        await check_target("http://10.0.0.8/hook", policy)  # another private host: not listed
    with pytest.raises(ValidationFailedError, match="private"):
        await check_target("https://10.0.0.8/hook", policy)


async def test_delivery_checks_the_target_again(storage_settings: StorageSettings):
    """A subscription made while its host was allowed is refused at delivery once the
    setting no longer lists it: the rules hold at connect time, not just at creation."""
    receiver = Receiver().start()
    runtime = runtime_for(storage_settings)
    strict = runtime_for(storage_settings, HAYMAKER_WEBHOOK_ALLOWED_HOSTS="")
    try:
        await subscribe(runtime, receiver.url)
        await quiet(runtime).deployments.create(record("dep-refused"))
        [report] = (await strict.dispatcher().sweep()).deliveries
        assert report.delivered == 0
        assert "refused" in report.errors[0]
        assert receiver.deliveries == []
    finally:
        receiver.stop()
        await close_stores()


def test_the_signature_example_in_the_docs_verifies_a_real_delivery(storage_settings):
    """docs/events.md's receiver code, run as written, accepts a delivery the dispatcher
    signed, and refuses it tampered with or replayed late."""
    import time

    text = DOCS.read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n# verify-webhook\n(.*?)```", text, re.S)
    receiver = Receiver().start()

    async def deliver() -> None:
        runtime = runtime_for(storage_settings)
        try:
            await subscribe(runtime, receiver.url)
            await quiet(runtime).deployments.create(record("dep-signed"))
            await runtime.dispatcher().sweep()
        finally:
            await quiet(runtime).tables.delete_all()
            await close_stores()

    try:
        asyncio.run(deliver())
        [delivery] = receiver.deliveries
    finally:
        receiver.stop()
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    check = namespace["verified"]
    header = delivery.headers[HEADER]
    assert check(SECRET, header, delivery.body, now=time.time()) is True  # type: ignore[operator]
    assert check(SECRET, header, delivery.body + b" ", now=time.time()) is False  # type: ignore[operator]
    assert check("another-secret-000", header, delivery.body, now=time.time()) is False  # type: ignore[operator]
    assert check(SECRET, header, delivery.body, now=time.time() + 600) is False  # type: ignore[operator]


# -- Event Grid ----------------------------------------------------------------------------------


async def test_event_grid_gets_the_feed_from_the_official_sdk(storage_settings: StorageSettings):
    """The topic sink publishes CloudEvents batches with a bearer token from the identity's
    credential, to a loopback endpoint speaking Event Grid's publish API."""
    import dataclasses

    from azure.core.credentials import AccessToken

    class Identity:  # what ManagedIdentityCredential answers, without Azure
        async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            assert scopes == ("https://eventgrid.azure.net/.default",)
            return AccessToken("identity-token", int(datetime.now(UTC).timestamp()) + 3600)

        async def close(self) -> None:
            pass

    topic = Receiver().start()
    runtime = runtime_for(
        storage_settings, HAYMAKER_EVENTGRID_ENDPOINT=topic.url.replace("/hook", "/api/events")
    )
    runtime = dataclasses.replace(runtime, eventgrid_credential_factory=Identity)
    try:
        stores = quiet(runtime)
        await three_deployments(stores)
        await runtime.dispatcher().sweep()
        await runtime.dispatcher().sweep()
        assert topic.deliveries
        request = topic.deliveries[0]
        assert request.headers["Authorization"] == "Bearer identity-token"
        assert request.headers["Content-Type"].startswith("application/cloudevents-batch+json")
        published = [e for d in topic.deliveries for e in d.event]
        assert len(published) == 9
        assert {e["specversion"] for e in published} == {"1.0"}
        assert [e["type"] for e in published if e["subject"] == "dep-y"] == [
            E.CREATED,
            E.STARTED,
            E.COMPLETED,
        ]
    finally:
        topic.stop()
        await close_stores()


def test_event_grid_endpoints_must_be_https():
    from haymaker.settings import SettingsError

    base = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    with pytest.raises(SettingsError, match="HAYMAKER_EVENTGRID_ENDPOINT"):
        Settings.from_env({**base, "HAYMAKER_EVENTGRID_ENDPOINT": "http://topic.example.com/api"})
    ok = Settings.from_env(
        {
            **base,
            "HAYMAKER_EVENTGRID_ENDPOINT": "https://t.westeurope-1.eventgrid.azure.net/api/events",
        }
    )
    assert ok.eventgrid_endpoint


def test_retry_backoff_doubles_up_to_its_cap():
    from haymaker.events.delivery import RetryPolicy

    policy = RetryPolicy(first_backoff=2, window=timedelta(hours=1), max_backoff=10)
    assert [policy.backoff(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]


async def test_old_events_leave_the_feed_once_every_sink_has_them(
    stores: Stores, storage_settings: StorageSettings
):
    runtime = runtime_for(storage_settings)
    try:
        await three_deployments(stores)
        await runtime.dispatcher().sweep()
        await stores.subscriptions.create(
            SubscriptionSpec(url="https://93.184.215.14/h", secret=SECRET), NOW, 4
        )
        later = datetime.now(UTC) + timedelta(days=1)
        slowest = await stores.subscriptions.slowest_cursor(await stores.feed.head())
        assert slowest == 4  # the subscription has dealt with the first four only
        assert await stores.feed.forget(later, up_to=slowest) == 4
        assert [e.seq for e in await stores.feed.read(after=0)] == [5, 6, 7, 8, 9]
        assert await stores.feed.forget(datetime.now(UTC) - timedelta(days=1), up_to=9) == 0
    finally:
        await close_stores()
