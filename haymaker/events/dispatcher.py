"""The dispatcher: moves outbox rows into the feed, then delivers the feed to every sink.

It never runs inside a deployment's step: a nudge after a write that left events starts it
in the background (haymaker.events.nudge), and the events timer (timers/events.py) sweeps
every outbox on a schedule, which catches up after a crash or a lost nudge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haymaker.events.delivery import Deliverer, DeliveryReport, Sink
from haymaker.store import outbox
from haymaker.store.deployments import TABLE as DEPLOYMENTS
from haymaker.store.feed import EVENTS_PER_MOVE
from haymaker.store.outbox import OutboxRow, sequence_of
from haymaker.store.schedules import TABLE as SCHEDULES

if TYPE_CHECKING:
    from haymaker.store import Stores

logger = logging.getLogger("haymaker.events")

OUTBOX_TABLES = (DEPLOYMENTS, SCHEDULES)
Outbox = tuple[str, str]  # (table, partition)
SinkFactory = Callable[[], Awaitable[list[Sink]]]


@dataclass
class DispatchReport:
    moved: int = 0
    deliveries: list[DeliveryReport] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(report.delivered for report in self.deliveries)


class Dispatcher:
    def __init__(
        self, stores: Stores, sinks: SinkFactory, source: str, deliverer: Deliverer
    ) -> None:
        self.stores = stores
        self.sinks = sinks
        self.source = source
        self.deliverer = deliverer

    def compose(self, row: OutboxRow) -> dict[str, Any]:
        return row.event.cloudevent(self.source, sequence_of(row.row_key))

    async def move(self, outboxes: Iterable[Outbox]) -> int:
        """Move the rows of these outboxes into the feed (each outbox's in order)."""
        moved = 0
        for table_name, partition in outboxes:
            table = await self.stores.tables.get(table_name)
            rows = await outbox.pending(table, table_name, partition)
            if not rows:
                continue
            while True:
                added = await self.stores.feed.append(rows, self.compose)
                moved += added
                if added < EVENTS_PER_MOVE:
                    break
            await outbox.drop(table, partition, [row.row_key for row in rows])
        return moved

    async def pending_outboxes(self) -> list[Outbox]:
        """Every outbox that holds rows (a scan: for the timer's sweep)."""
        found: list[Outbox] = []
        for table_name in OUTBOX_TABLES:
            table = await self.stores.tables.get(table_name)
            found += [(table_name, p) for p in await outbox.partitions_with_events(table)]
        return found

    async def deliver(self) -> list[DeliveryReport]:
        """Every sink's turn, side by side: a slow one holds up nobody else."""
        sinks = await self.sinks()
        try:
            return list(await asyncio.gather(*(self.deliver_to(sink) for sink in sinks)))
        finally:
            for sink in sinks:
                await sink.close()

    async def deliver_to(self, sink: Sink) -> DeliveryReport:
        try:
            return await self.deliverer.deliver(sink)
        except Exception as exc:  # storage trouble: the next run goes on from the cursor
            logger.exception("delivery to %s stopped", sink.name)
            return DeliveryReport(sink.name, errors=[type(exc).__name__])

    async def sweep(self) -> DispatchReport:
        """What the timer runs: move every outbox, then deliver."""
        report = DispatchReport(moved=await self.move(await self.pending_outboxes()))
        report.deliveries = await self.deliver()
        return report
