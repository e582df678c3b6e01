"""One scheduler tick with 10,000 schedules of which 100 are due, on Azurite.

Prints the tick's time (find the due schedules through the next-slot index, record and start
their 100 deployments, claim the slots) against the time of a single Azurite query that
reads every schedule, which is what a tick without the index would have to do before any of
that work; goal: a ratio of 5 or less. The index query alone is printed too.

    .venv/bin/python bench/schedules.py [--schedules 10000] [--due 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite  # noqa: E402
from haymaker.schedules.models import ScheduleState  # noqa: E402
from haymaker.schedules.scheduler import Scheduler  # noqa: E402
from haymaker.settings import StorageSettings  # noqa: E402
from haymaker.store import Stores  # noqa: E402
from haymaker.store.schedules import INDEX_PARTITION, TABLE, _to_entity, index_key  # noqa: E402
from haymaker.store.tables import Tables, upsert_rows  # noqa: E402
from haymaker.workloads.registry import get_registry  # noqa: E402

GOAL = 5.0


async def seed(stores: Stores, count: int, due: int, now: datetime) -> None:
    schedules = await stores.tables.get(TABLE)
    index = await stores.tables.get("scheduleindex")
    config = get_registry().manifest("data-collector").validate_config({"item_count": 1})
    states = [
        ScheduleState(
            schedule_id=f"sch-{i:010x}",
            workload_name="data-collector",
            workload_config=config,
            cron="0 * * * * *",
            catch_up="latest",
            created_at=now,
            updated_at=now,
            next_slot=now - timedelta(seconds=30) if i < due else now + timedelta(hours=1 + i % 20),
        )
        for i in range(count)
    ]
    limit = asyncio.Semaphore(32)

    async def insert(state: ScheduleState) -> None:
        async with limit:
            await schedules.create_entity(_to_entity(state))

    await asyncio.gather(*(insert(state) for state in states))
    rows = [
        {
            "PartitionKey": INDEX_PARTITION,
            "RowKey": index_key(s.next_slot, s.schedule_id),
            "slot": s.next_slot,
            "schedule_id": s.schedule_id,
        }
        for s in states
    ]
    await upsert_rows(index, rows)


async def timed(operation) -> tuple[float, object]:
    started = time.perf_counter()
    result = await operation()
    return time.perf_counter() - started, result


async def main(count: int, due: int) -> None:
    azurite = Azurite(ROOT).start()
    try:
        tables = Tables(
            StorageSettings(connection_string=azurite.connection_string, table_prefix="bench")
        )
        stores = Stores(tables)
        now = datetime.now(UTC)
        print(f"seeding {count} schedules ({due} due)...", flush=True)
        await seed(stores, count, due, now)

        async def no_op_starter(deployment_id: str) -> None:
            return None

        scheduler = Scheduler(stores, get_registry(), no_op_starter, clock=lambda: now)
        table = await tables.get(TABLE)

        async def full_scan():
            return [
                row
                async for row in table.query_entities(
                    "RowKey eq @row", parameters={"row": "schedule"}
                )
            ]

        scan_seconds, everything = await timed(full_scan)
        due_seconds, found = await timed(lambda: stores.schedules.due(now))
        tick_seconds, report = await timed(scheduler.tick)
        await tables.close()
    finally:
        azurite.stop()
    assert len(everything) == count, len(everything)
    assert len(found) == due, len(found)
    assert len(report.started) == due, report
    print(f"scheduler benchmark: {count} schedules, {due} due, Azurite in memory")
    print(f"  one query reading every schedule  {scan_seconds * 1000:8.1f} ms")
    print(f"  the next-slot index query alone   {due_seconds * 1000:8.1f} ms")
    print(f"  one tick ({due} deployments started) {tick_seconds * 1000:8.1f} ms")
    ratio = tick_seconds / scan_seconds
    verdict = "met" if ratio <= GOAL else "missed"
    print(f"  tick / full-read query            {ratio:8.2f}  (goal <= {GOAL:.0f}: {verdict})")
    print(f"  tick / index query                {tick_seconds / due_seconds:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.schedules, args.due))
