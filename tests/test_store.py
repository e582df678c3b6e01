import asyncio
from datetime import UTC, datetime

import pytest

from haymaker.errors import (
    BadRequestError,
    ConcurrencyError,
    DeploymentExistsError,
    DeploymentNotFoundError,
    InvalidKeyError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from haymaker.models import DeploymentState, DeploymentStatus, LogEntry, Resource
from haymaker.store import DeploymentRecord, Stores

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(deployment_id: str, workload: str = "data-collector", **fields) -> DeploymentRecord:
    return DeploymentRecord(
        state=DeploymentState(
            deployment_id=deployment_id, workload_name=workload, created_at=NOW, **fields
        )
    )


async def test_create_read_and_duplicate(stores: Stores):
    created = await stores.deployments.create(record("dep-one", config={"item_count": 5}))
    assert created.etag
    loaded = await stores.deployments.get("dep-one")
    assert loaded.state == created.state
    assert loaded.state.config == {"item_count": 5}
    with pytest.raises(DeploymentExistsError):
        await stores.deployments.create(record("dep-one"))
    with pytest.raises(DeploymentNotFoundError):
        await stores.deployments.get("dep-two")


async def test_two_writers_lose_no_update(stores: Stores):
    """Thirty concurrent increments of one counter under ETags end at exactly thirty."""
    await stores.deployments.create(record("dep-race", metadata={"n": 0}))

    def increment(rec: DeploymentRecord) -> None:
        rec.state.metadata["n"] += 1
        rec.log(f"n={rec.state.metadata['n']}", NOW)

    await asyncio.gather(*(stores.mutate("dep-race", increment) for _ in range(30)))
    final = await stores.deployments.get("dep-race")
    assert final.state.metadata["n"] == 30
    assert final.progress.log_count == 30
    lines = await stores.logs.read("dep-race", total=final.progress.log_count)
    assert [entry.line for entry in lines] == list(range(30))
    # every increment's line survived: no writer overwrote another's line number
    assert sorted(int(entry.message.split("=")[1]) for entry in lines) == list(range(1, 31))


async def test_stale_etag_is_refused(stores: Stores):
    from azure.core.exceptions import ResourceModifiedError

    await stores.deployments.create(record("dep-etag"))
    first = await stores.deployments.get("dep-etag")
    second = await stores.deployments.get("dep-etag")
    first.state.phase = "one"
    await stores.deployments.replace(first)
    second.state.phase = "two"
    with pytest.raises(ResourceModifiedError):
        await stores.deployments.replace(second)
    assert (await stores.deployments.get("dep-etag")).state.phase == "one"


async def test_mutate_gives_up_on_endless_conflict(stores: Stores, monkeypatch):
    from azure.core.exceptions import ResourceModifiedError

    await stores.deployments.create(record("dep-busy"))

    async def always_conflict(rec, events=None):
        raise ResourceModifiedError("412")

    monkeypatch.setattr(stores.deployments, "replace", always_conflict)
    monkeypatch.setattr("haymaker.store.optimistic.MAX_BACKOFF_SECONDS", 0)

    def change(rec):
        rec.state.phase = "x"

    with pytest.raises(ConcurrencyError):
        await stores.mutate("dep-busy", change)


async def test_unchanged_mutation_writes_nothing(stores: Stores):
    created = await stores.deployments.create(record("dep-same"))
    rec, result = await stores.mutate("dep-same", lambda r: "nothing")
    assert result == "nothing"
    assert rec.etag == created.etag


async def test_oversized_metadata_is_rejected_and_nothing_is_lost(stores: Stores):
    await stores.deployments.create(record("dep-big", metadata={"keep": 1}))

    def grow(rec):
        rec.state.metadata["blob"] = "x" * 40_000

    with pytest.raises(PayloadTooLargeError, match="metadata"):
        await stores.mutate("dep-big", grow)
    assert (await stores.deployments.get("dep-big")).state.metadata == {"keep": 1}


async def test_logs_batch_above_100_and_read_ranges(stores: Stores):
    entries = [LogEntry(line=i, timestamp=NOW, message=f"line {i}") for i in range(250)]
    await stores.logs.write("dep-logs", entries)
    everything = await stores.logs.read("dep-logs", total=250)
    assert [e.line for e in everything] == list(range(250))
    assert [e.line for e in await stores.logs.read("dep-logs", total=250, tail=5)] == list(
        range(245, 250)
    )
    assert [e.line for e in await stores.logs.read("dep-logs", total=250, after=239)] == list(
        range(240, 250)
    )
    assert [e.line for e in await stores.logs.read("dep-logs", total=250, after=10, limit=3)] == [
        11,
        12,
        13,
    ]
    # lines past the committed total are invisible
    assert len(await stores.logs.read("dep-logs", total=200)) == 200
    # re-writing a line replaces it rather than duplicating it
    await stores.logs.write("dep-logs", [LogEntry(line=3, timestamp=NOW, message="again")])
    again = await stores.logs.read("dep-logs", total=250)
    assert len(again) == 250
    assert again[3].message == "again"
    assert await stores.logs.delete_all("dep-logs") == 250
    assert await stores.logs.read("dep-logs", total=250) == []


async def test_listing_pages_with_continuation_and_filters(stores: Stores):
    for i in range(23):
        workload = "data-collector" if i % 2 == 0 else "other-workload"
        status = DeploymentStatus.RUNNING if i % 3 == 0 else DeploymentStatus.PENDING
        await stores.deployments.create(record(f"dep-{i:03d}", workload=workload, status=status))
    seen, token, pages = [], None, 0
    while True:
        page = await stores.deployments.list(limit=5, continuation=token)
        seen.extend(item.deployment_id for item in page.items)
        pages += 1
        token = page.continuation
        if token is None:
            break
    assert sorted(seen) == [f"dep-{i:03d}" for i in range(23)]
    assert len(seen) == 23
    assert pages >= 5

    async def collect(**filters):
        found, token = [], None
        while True:
            page = await stores.deployments.list(limit=4, continuation=token, **filters)
            found.extend(page.items)
            token = page.continuation
            if token is None:
                return found

    collectors = await collect(workload="data-collector")
    assert len(collectors) == 12
    assert all(s.workload_name == "data-collector" for s in collectors)
    running = await collect(status=DeploymentStatus.RUNNING)
    assert len(running) == 8
    assert all(s.status == "running" for s in running)
    both = await collect(workload="other-workload", status=DeploymentStatus.RUNNING)
    assert sorted(s.deployment_id for s in both) == ["dep-003", "dep-009", "dep-015", "dep-021"]


async def test_filter_injection_is_treated_as_data(stores: Stores):
    await stores.deployments.create(record("dep-a"))
    injected = await stores.deployments.list(workload="x' or 'a' eq 'a")
    assert injected.items == []
    injected = await stores.deployments.list(workload="data-collector' or RowKey ne '")
    assert injected.items == []
    assert len((await stores.deployments.list(workload="data-collector")).items) == 1


async def test_bad_continuation_tokens_are_refused(stores: Stores):
    """Not even the token alphabet: 400. Well formed but not a token we issued: 422."""
    with pytest.raises(BadRequestError):
        await stores.deployments.list(continuation="garbage!")
    for token in ("bm90IGpzb24", "WzEsMl0"):
        with pytest.raises(ValidationFailedError):
            await stores.deployments.list(continuation=token)


@pytest.mark.parametrize("bad", ["a/b", "a#b", "a?b", "a\\b", "a\x01b", "x" * 200, "UPPER-case"])
async def test_bad_ids_never_reach_storage(stores: Stores, bad):
    with pytest.raises(InvalidKeyError):
        await stores.deployments.get(bad)
    with pytest.raises(InvalidKeyError):
        await stores.logs.read(bad, total=1)


async def test_resources_page_and_delete_idempotently(stores: Stores):
    resources = [Resource(kind="item", name=f"item-{i:04d}", data={"i": i}) for i in range(130)]
    await stores.resources.put("dep-res", resources)
    assert await stores.resources.count("dep-res") == 130
    first = await stores.resources.page("dep-res", limit=100)
    assert len(first.items) == 100
    assert first.continuation
    second = await stores.resources.page("dep-res", limit=100, continuation=first.continuation)
    assert len(second.items) == 30
    assert second.continuation is None
    await stores.resources.delete("dep-res", first.items)
    # deleting again, mixed with rows that still exist, is fine
    await stores.resources.delete("dep-res", first.items[:5] + second.items)
    assert await stores.resources.count("dep-res") == 0
    with pytest.raises(InvalidKeyError):
        await stores.resources.put("dep-res", [Resource(kind="item", name="a/b")])


# -- rate limits ---------------------------------------------------------------------------


async def test_rate_limit_admits_exactly_the_limit_under_concurrency(stores: Stores) -> None:
    from haymaker.errors import RateLimitedError
    from haymaker.store.ratelimits import RateLimiter

    limiter = RateLimiter(stores.tables)
    now = datetime(2026, 11, 23, 12, 0, 15, tzinfo=UTC)

    async def attempt() -> int | None:
        try:
            await limiter.take("caller-a", "deploy", 10, now)
        except RateLimitedError as exc:
            return exc.retry_after
        return None

    outcomes = await asyncio.gather(*(attempt() for _ in range(50)))
    assert outcomes.count(None) == 10
    assert set(outcomes) - {None} == {45}  # seconds left in the minute
    # Refusals gave their rows back; another caller and the next window start afresh.
    await limiter.take("caller-b", "deploy", 10, now)
    later = datetime(2026, 11, 23, 12, 1, 0, tzinfo=UTC)
    await limiter.take("caller-a", "deploy", 10, later)
    assert await limiter.forget_before(datetime(2026, 11, 23, 12, 2, 0, tzinfo=UTC)) == 11
    assert await limiter.forget_before(datetime(2026, 11, 23, 12, 3, 0, tzinfo=UTC)) == 1


async def test_listing_is_newest_first_across_pages_and_filters(stores: Stores):
    from datetime import timedelta

    # Ids in the opposite order to their creation: id order would list them oldest first.
    for i in range(12):
        created = NOW + timedelta(minutes=i)
        await stores.deployments.create(
            DeploymentRecord(
                state=DeploymentState(
                    deployment_id=f"dep-{99 - i:03d}",
                    workload_name="data-collector" if i % 2 else "other-workload",
                    created_at=created,
                )
            )
        )
    seen, token = [], None
    while True:
        page = await stores.deployments.list(limit=5, continuation=token)
        seen.extend(page.items)
        token = page.continuation
        if token is None:
            break
    assert [s.deployment_id for s in seen] == [f"dep-{99 - i:03d}" for i in reversed(range(12))]
    collectors = await stores.deployments.list(workload="data-collector", limit=3)
    assert [s.deployment_id for s in collectors.items] == ["dep-088", "dep-090", "dep-092"]


async def test_a_status_change_moves_the_deployment_between_status_filters(stores: Stores):
    await stores.deployments.create(record("dep-move", status=DeploymentStatus.PENDING))

    def start(r: DeploymentRecord) -> None:
        r.move_to(DeploymentStatus.RUNNING, NOW)

    await stores.mutate("dep-move", start)
    pending = await stores.deployments.list(status=DeploymentStatus.PENDING)
    running = await stores.deployments.list(status=DeploymentStatus.RUNNING)
    assert pending.items == []
    assert [s.deployment_id for s in running.items] == ["dep-move"]


async def test_a_purged_deployment_leaves_no_index_row(stores: Stores):
    from haymaker.store.deployment_index import PARTITION, TABLE

    created = await stores.deployments.create(record("dep-gone"))
    await stores.deployments.delete(created)
    assert (await stores.deployments.list()).items == []
    table = await stores.tables.get(TABLE)
    rows = [row async for row in table.query_entities(f"PartitionKey eq '{PARTITION}'")]
    assert rows == []


async def test_deployments_stored_before_the_index_are_listed(stores: Stores):
    """An upgrade: entities written without index rows are indexed on the first listing."""
    from haymaker.store.deployments import TABLE, to_entity

    table = await stores.tables.get(TABLE)
    for name in ("dep-old-a", "dep-old-b"):
        await table.create_entity(to_entity(record(name)))
    listed = await stores.deployments.list()
    assert sorted(s.deployment_id for s in listed.items) == ["dep-old-a", "dep-old-b"]


async def test_a_stale_index_row_is_repaired_by_a_listing(stores: Stores):
    """The row is written before the entity; a write that never landed leaves it ahead."""
    from haymaker.store.deployments import TABLE

    await stores.deployments.create(record("dep-stale", status=DeploymentStatus.RUNNING))
    table = await stores.tables.get(TABLE)
    entity = await table.get_entity("dep-stale", "state")
    stale = await stores.deployments.get("dep-stale")
    stale.state.status = DeploymentStatus.STOPPED
    await stores.deployments.index.put(stale.state)  # the index moved, the entity did not
    assert entity["status"] == "running"
    assert (await stores.deployments.list(status=DeploymentStatus.STOPPED)).items == []
    running = await stores.deployments.list(status=DeploymentStatus.RUNNING)
    assert [s.deployment_id for s in running.items] == ["dep-stale"]


async def test_a_losing_create_leaves_only_the_winners_row(stores: Stores):
    from datetime import timedelta

    from haymaker.store.deployment_index import PARTITION, TABLE

    await stores.deployments.create(record("dep-twice"))
    later = DeploymentRecord(
        state=DeploymentState(
            deployment_id="dep-twice",
            workload_name="data-collector",
            created_at=NOW + timedelta(seconds=5),
        )
    )
    with pytest.raises(DeploymentExistsError):
        await stores.deployments.create(later)
    table = await stores.tables.get(TABLE)
    rows = [row async for row in table.query_entities(f"PartitionKey eq '{PARTITION}'")]
    assert len(rows) == 1


async def test_a_status_write_that_loses_a_race_leaves_the_index_right(stores: Stores):
    """The index row moves before the entity; if that write then loses to another, the
    row follows what finally landed."""
    from haymaker.store.deployment_index import PARTITION, TABLE

    await stores.deployments.create(
        record("dep-race", status=DeploymentStatus.RUNNING, desired_status=DeploymentStatus.STOPPED)
    )
    real_replace = stores.deployments.replace
    raced = []

    async def replace_after_a_competitor(r: DeploymentRecord, events=None) -> DeploymentRecord:
        if not raced:
            raced.append(True)
            competitor = await stores.deployments.get("dep-race")
            competitor.state.desired_status = DeploymentStatus.RUNNING  # a start lands first
            await real_replace(competitor)
        return await real_replace(r, events)

    stores.deployments.replace = replace_after_a_competitor  # type: ignore[method-assign]

    def reconcile(r: DeploymentRecord) -> None:
        if r.state.desired_status == DeploymentStatus.STOPPED:
            r.move_to(DeploymentStatus.STOPPED, NOW)

    final, _ = await stores.mutate("dep-race", reconcile)
    assert final.state.status == DeploymentStatus.RUNNING
    table = await stores.tables.get(TABLE)
    rows = [row async for row in table.query_entities(f"PartitionKey eq '{PARTITION}'")]
    assert [row["status"] for row in rows] == ["running"]


async def test_step_marks_share_the_log_partition_without_showing_as_lines(stores: Stores):
    from haymaker.models import StepMark

    entries = [LogEntry(line=i, timestamp=NOW, message=f"line {i}") for i in range(3)]
    marks = [
        StepMark(step=i, phase="collecting", started_at=NOW, finished_at=NOW) for i in range(4)
    ]
    await stores.logs.write("dep-steps", entries, marks)
    assert [e.message for e in await stores.logs.read("dep-steps", total=3)] == [
        "line 0",
        "line 1",
        "line 2",
    ]
    assert [m.step for m in await stores.logs.steps("dep-steps")] == [0, 1, 2, 3]
    assert [m.step for m in await stores.logs.steps("dep-steps", after=1, limit=1)] == [2]
    assert await stores.logs.delete_all("dep-steps") == 7


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, {"use_env_settings": False}),
        (
            {"HTTPS_PROXY": "http://proxy.contoso:3128"},
            {"use_env_settings": False, "proxies": {"https": "http://proxy.contoso:3128"}},
        ),
        ({"HTTPS_PROXY": "http://proxy.contoso:3128", "NO_PROXY": ".core.windows.net"}, None),
        ({"HTTP_PROXY": "http://proxy.contoso:3128"}, None),  # for http endpoints only
    ],
)
def test_a_table_clients_proxy_is_found_once_from_the_environment(monkeypatch, environ, expected):
    from haymaker.store.transport import direct_transport

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    options = direct_transport("https://sthaymaker.table.core.windows.net")
    assert options == (expected or {"use_env_settings": False})
