"""The scheduler against a real Azurite, with a clock the test moves and a starter that
records what it was asked to start."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from haymaker.errors import ConfigError, ConflictError, ScheduleNotFoundError, WorkloadNotFoundError
from haymaker.models import DeploymentStatus
from haymaker.schedules.models import ScheduleSpec, ScheduleUpdate, slot_deployment_id
from haymaker.schedules.scheduler import Scheduler

START = datetime(2026, 3, 2, 5, 59, 30, tzinfo=UTC)  # a Monday


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def started() -> list[str]:
    return []


@pytest.fixture
def scheduler(stores, registry, clock, started) -> Scheduler:
    async def starter(deployment_id: str) -> None:
        started.append(deployment_id)

    return Scheduler(
        stores,
        registry,
        starter,
        clock=clock,
        grace=timedelta(seconds=120),
    )


def spec(**fields) -> ScheduleSpec:
    return ScheduleSpec.model_validate(
        {
            "workload": "data-collector",
            "config": {"item_count": 5},
            "cron": "0 0 6 * * Mon-Fri",
            **fields,
        }
    )


async def runs_of(stores, schedule_id):
    page = await stores.deployments.list(schedule_id=schedule_id, limit=1000)
    return sorted(item.deployment_id for item in page.items)


async def finish(stores, deployment_id):
    def complete(record):
        record.state.status = DeploymentStatus.COMPLETED

    await stores.mutate(deployment_id, complete)


async def test_create_validates_and_computes_the_next_slot(scheduler):
    state = await scheduler.create(spec(config={"item_count": "20"}, time_zone="Europe/Paris"))
    assert state.workload_config["item_count"] == 20  # coerced and defaulted like a deployment
    assert state.next_slot == datetime(2026, 3, 2, 5, tzinfo=UTC) + timedelta(days=1)  # 06:00 Paris
    assert scheduler.upcoming(state, 3)[0] == state.next_slot
    with pytest.raises(ConfigError, match="item_count"):
        await scheduler.create(spec(config={"item_count": 0}))
    with pytest.raises(WorkloadNotFoundError):
        await scheduler.create(spec(workload="nope"))
    for bad in (
        {"cron": "0 6 * * *"},
        {"time_zone": "Moon/Base"},
        {"max_active": 0},
        {"catch_up": "all"},
    ):
        with pytest.raises(ValidationError):
            spec(**bad)


async def test_a_due_slot_starts_exactly_one_deployment(scheduler, stores, clock, started):
    state = await scheduler.create(spec())
    report = await scheduler.tick()
    assert report.started == []  # 05:59:30: not due yet
    clock.advance(seconds=31)
    report = await scheduler.tick()
    slot = datetime(2026, 3, 2, 6, tzinfo=UTC)
    expected = slot_deployment_id(state.schedule_id, slot)
    assert report.started == [state.schedule_id]
    assert started == [expected]
    deployment = (await stores.deployments.get(expected)).state
    assert deployment.schedule_id == state.schedule_id
    assert deployment.metadata["schedule_id"] == state.schedule_id
    assert deployment.metadata["slot"] == slot.isoformat()
    assert deployment.config["item_count"] == 5
    again = await scheduler.tick()  # the timer firing twice for one slot
    assert again.started == []
    assert await runs_of(stores, state.schedule_id) == [expected]
    after = (await scheduler.schedules.get(state.schedule_id)).state
    assert after.last_slot == slot
    assert after.next_slot == datetime(2026, 3, 3, 6, tzinfo=UTC)
    assert after.active_runs == [expected]
    assert after.recent_runs[0].outcome == "started"


async def test_concurrent_ticks_yield_one_deployment_per_slot(
    scheduler, stores, clock, started, registry
):
    schedules = [
        await scheduler.create(spec(cron="*/10 * * * * *", max_active=100)) for _ in range(3)
    ]
    clock.advance(seconds=31)  # 06:00:01: slot 06:00:00 is due for each
    other = Scheduler(stores, registry, scheduler.starter, clock=clock)
    reports = await asyncio.gather(
        *(s.tick() for s in [scheduler, other, scheduler, other, scheduler])
    )
    assert sum(len(r.started) for r in reports) >= 3
    for state in schedules:
        assert await runs_of(stores, state.schedule_id) == [
            slot_deployment_id(state.schedule_id, datetime(2026, 3, 2, 6, tzinfo=UTC))
        ]
    assert len(set(started)) == 3


async def test_a_tick_interrupted_after_creating_the_deployment_is_finished_by_the_next(
    scheduler, stores, clock, started
):
    state = await scheduler.create(spec())
    clock.advance(seconds=31)
    slot = datetime(2026, 3, 2, 6, tzinfo=UTC)
    deployment_id = slot_deployment_id(state.schedule_id, slot)
    # the first tick died after recording the deployment, before starting it or claiming the slot
    record = (await scheduler.schedules.get(state.schedule_id)).state
    await scheduler.lifecycle.create(
        scheduler_request(record), deployment_id=deployment_id, schedule=(state.schedule_id, slot)
    )
    report = await scheduler.tick()
    assert report.started == [state.schedule_id]
    assert started == [deployment_id]
    assert await runs_of(stores, state.schedule_id) == [deployment_id]


def scheduler_request(state):
    from haymaker.models import DeploymentConfig

    return DeploymentConfig(
        workload_name=state.workload_name, workload_config=state.workload_config
    )


async def test_a_started_run_is_never_restarted_by_a_retried_tick(
    scheduler, stores, clock, started
):
    state = await scheduler.create(spec())
    clock.advance(seconds=31)
    await scheduler.tick()
    deployment_id = started[0]
    await finish(stores, deployment_id)

    # lose the claim: as if the tick died after starting the run
    def unclaim(record):
        record.state.last_slot = None
        record.state.next_slot = datetime(2026, 3, 2, 6, tzinfo=UTC)

    await scheduler.schedules.update(state.schedule_id, unclaim)
    await scheduler.tick()
    assert started == [deployment_id]  # completed: not started again
    assert (await stores.deployments.get(deployment_id)).state.status == DeploymentStatus.COMPLETED


async def test_disabled_schedules_start_nothing(scheduler, stores, clock, started):
    state = await scheduler.create(spec(enabled=False))
    assert state.next_slot is None
    clock.advance(days=3)
    assert (await scheduler.tick()).started == []
    enabled = await scheduler.update(state.schedule_id, ScheduleUpdate(enabled=True))
    assert enabled.next_slot == datetime(2026, 3, 5, 6, tzinfo=UTC)  # from now, not from creation
    disabled = await scheduler.update(state.schedule_id, ScheduleUpdate(enabled=False))
    assert disabled.next_slot is None
    clock.advance(days=1)
    report = await scheduler.tick()
    assert report.started == []
    assert report.stale == 0  # disabling removed its index row
    assert started == []


@pytest.mark.parametrize(("policy", "expected"), [("skip", 0), ("latest", 1)])
async def test_catch_up_after_downtime(scheduler, stores, clock, started, policy, expected):
    state = await scheduler.create(spec(catch_up=policy))
    clock.advance(days=3, hours=2)  # down from Monday 05:59 to Thursday 08:00: three slots missed
    report = await scheduler.tick()
    assert len(started) == expected
    after = (await scheduler.schedules.get(state.schedule_id)).state
    assert after.last_slot == datetime(2026, 3, 5, 6, tzinfo=UTC)
    assert after.next_slot == datetime(2026, 3, 6, 6, tzinfo=UTC)
    if policy == "latest":
        assert started == [
            slot_deployment_id(state.schedule_id, datetime(2026, 3, 5, 6, tzinfo=UTC))
        ]
    else:
        assert report.skipped == [state.schedule_id]
        assert after.recent_runs[0].outcome == "skipped_missed"


async def test_max_active_holds(scheduler, stores, clock, started):
    state = await scheduler.create(spec(cron="0 * * * * *", max_active=1))
    clock.advance(seconds=31)
    await scheduler.tick()
    assert len(started) == 1
    clock.advance(minutes=1)
    report = await scheduler.tick()
    assert report.skipped == [state.schedule_id]
    assert len(started) == 1
    with pytest.raises(ConflictError, match="max_active"):
        await scheduler.trigger(state.schedule_id)
    await finish(stores, started[0])
    clock.advance(minutes=1)
    await scheduler.tick()
    assert len(started) == 2
    after = (await scheduler.schedules.get(state.schedule_id)).state
    assert after.active_runs == [started[1]]
    assert [r.outcome for r in after.recent_runs] == ["started", "skipped_max_active", "started"]


async def test_trigger_runs_now_outside_the_cron(scheduler, stores, clock, started):
    state = await scheduler.create(spec(max_active=2))
    deployment_id = await scheduler.trigger(state.schedule_id)
    assert started == [deployment_id]
    assert deployment_id == slot_deployment_id(state.schedule_id, START.replace(microsecond=0))
    after = (await scheduler.schedules.get(state.schedule_id)).state
    assert after.last_slot is None  # the cron's own slots are untouched
    assert after.recent_runs[0].outcome == "triggered"


async def test_changing_the_cron_moves_the_index(scheduler, stores, clock, started):
    state = await scheduler.create(spec())
    changed = await scheduler.update(
        state.schedule_id, ScheduleUpdate(cron="0 0 7 * * *", time_zone="Asia/Tokyo")
    )
    assert changed.next_slot == datetime(2026, 3, 2, 22, tzinfo=UTC)  # 07:00 Tokyo
    assert len(await scheduler.schedules.due(datetime(2030, 1, 1, tzinfo=UTC))) == 1
    clock.advance(minutes=5)
    assert (await scheduler.tick()).started == []  # the old 06:00 UTC slot is gone
    with pytest.raises(ConfigError):
        await scheduler.update(state.schedule_id, ScheduleUpdate(config={"item_count": 5000}))


async def test_stale_index_rows_are_dropped(scheduler, stores, clock, started):
    state = await scheduler.create(spec())
    await scheduler.schedules._index(
        state.model_copy(update={"next_slot": START - timedelta(hours=1)})
    )
    report = await scheduler.tick()
    assert report.stale == 1
    assert started == []
    await scheduler.delete(state.schedule_id)
    with pytest.raises(ScheduleNotFoundError):
        await scheduler.schedules.get(state.schedule_id)
    assert await scheduler.schedules.due(datetime(2030, 1, 1, tzinfo=UTC)) == []


async def test_list_filters_and_pages(scheduler):
    made = [await scheduler.create(spec(enabled=i % 2 == 0)) for i in range(5)]
    seen, token = [], None
    while True:
        page = await scheduler.schedules.list(limit=2, continuation=token)
        seen += [s.schedule_id for s in page.items]
        token = page.continuation
        if not token:
            break
    assert sorted(seen) == sorted(s.schedule_id for s in made)
    enabled = await scheduler.schedules.list(enabled=True)
    assert len(enabled.items) == 3
