"""Delivering the feed to one sink, in order, at least once.

A sink (a webhook subscription, Event Grid) reads the feed from its own cursor. One
dispatcher at a time holds its lease (an ETag-guarded row), so events go out in feed order
(and so in order per deployment). A failed send is retried with doubling waits: short ones
here, longer ones by a later dispatcher run (`next_attempt_at`); once the event has failed
for the retry window it is dead-lettered (kept, visible through the API) and delivery goes
on with the next. The cursor is saved every few events: a crash re-sends at most those, with
the same event ids, for the receiver to drop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from haymaker.events.subscriptions import DeadLetter, Delivery

if TYPE_CHECKING:
    from haymaker.clock import Clock
    from haymaker.store.feed import EventFeed, FeedEvent
    from haymaker.store.subscriptions import Lease, SubscriptionStore

logger = logging.getLogger("haymaker.events")

READ_BATCH = 100
SAVE_EVERY = 20


class DeliveryFailed(Exception):
    """A send that did not succeed; the message (no secret, no URL path) is kept."""


class Sink(Protocol):
    name: str
    batch_size: int
    # Where a sink with no delivery state starts (None: it is not delivered to until it
    # has one; a webhook's is made with its subscription).
    start_at: int | None

    def wants(self, event: dict[str, Any]) -> bool: ...

    async def send(self, events: list[dict[str, Any]]) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    first_backoff: float = 5.0  # seconds; doubles with each failure
    window: timedelta = timedelta(hours=24)  # then the event is dead-lettered
    max_backoff: float = 3600.0
    inline_wait: float = 5.0  # longer waits are left to a later run

    def backoff(self, attempts: int) -> float:
        return min(self.max_backoff, self.first_backoff * 2 ** (attempts - 1))


@dataclass
class DeliveryReport:
    sink: str
    delivered: int = 0
    dead_lettered: int = 0
    skipped: bool = False  # another dispatcher holds the sink, or its retry is not due
    errors: list[str] = field(default_factory=list)


class Deliverer:
    def __init__(
        self,
        feed: EventFeed,
        subscriptions: SubscriptionStore,
        clock: Clock,
        retry: RetryPolicy,
        *,
        lease_seconds: float = 30.0,
        run_seconds: float = 45.0,
    ) -> None:
        self.feed = feed
        self.subscriptions = subscriptions
        self.clock = clock
        self.retry = retry
        self.lease = timedelta(seconds=lease_seconds)
        self.run_seconds = run_seconds

    async def deliver(self, sink: Sink) -> DeliveryReport:
        """Send what `sink` has not had yet, for at most run_seconds."""
        report = DeliveryReport(sink.name)
        now = self.clock()
        lease = await self.subscriptions.take_lease(sink.name, now, now + self.lease, sink.start_at)
        if lease is None:
            report.skipped = True
            return report
        run = _Run(self, sink, lease, report, time.monotonic() + self.run_seconds)
        try:
            if lease.state.next_attempt_at is not None and lease.state.next_attempt_at > now:
                report.skipped = True
            else:
                await run.go()
        finally:
            lease.state.lease_until = None
            await self.subscriptions.save(lease)
        return report


class _Run:
    """One dispatcher's turn at one sink, under its lease."""

    def __init__(
        self,
        deliverer: Deliverer,
        sink: Sink,
        lease: Lease,
        report: DeliveryReport,
        deadline: float,
    ) -> None:
        self.d = deliverer
        self.sink = sink
        self.lease = lease
        self.state: Delivery = lease.state
        self.report = report
        self.deadline = deadline
        self.unsaved = 0
        self.saved_at = time.monotonic()

    async def go(self) -> None:
        while time.monotonic() < self.deadline:
            batch = await self.d.feed.read(after=self.state.cursor, limit=READ_BATCH)
            if not batch:
                return
            unit: list[FeedEvent] = []
            for item in batch:
                if not self.sink.wants(item.event):
                    if not unit:
                        self.state.cursor = item.seq  # nothing for this sink
                    continue
                unit.append(item)
                if len(unit) >= self.sink.batch_size:
                    if not await self._send(unit):
                        return
                    unit = []
            if unit and not await self._send(unit):
                return
            if self.state.cursor < batch[-1].seq:
                self.state.cursor = batch[-1].seq  # only unwanted events after the last unit
            if not await self._checkpoint(force=len(batch) < READ_BATCH):
                return

    async def _send(self, unit: list[FeedEvent]) -> bool:
        """Deliver `unit` (retrying), or dead-letter it; False: stop this run."""
        while True:
            try:
                await self.sink.send([item.event for item in unit])
            except DeliveryFailed as exc:
                if not await self._failed(unit, str(exc)):
                    return False
                if self.state.attempts == 0:  # dead-lettered: go on with the next
                    return await self._checkpoint(force=True)
                continue
            except Exception as exc:  # a bug or an SDK surprise: retried like a failure
                logger.exception("delivery to %s failed unexpectedly", self.sink.name)
                if not await self._failed(unit, f"{type(exc).__name__}"):
                    return False
                if self.state.attempts == 0:
                    return await self._checkpoint(force=True)
                continue
            now = self.d.clock()
            self.state.cursor = unit[-1].seq
            self.state.delivered += len(unit)
            self.state.attempts = 0
            self.state.first_failure_at = None
            self.state.next_attempt_at = None
            self.state.last_delivered_at = now
            self.report.delivered += len(unit)
            self.unsaved += 1
            return await self._checkpoint()

    async def _failed(self, unit: list[FeedEvent], error: str) -> bool:
        """Count a failure; wait here for a short retry (True) or leave it for later
        (False). An event that has failed for the whole window is dead-lettered (True,
        attempts back to 0)."""
        now = self.d.clock()
        state = self.state
        state.attempts += 1
        state.first_failure_at = state.first_failure_at or now
        state.last_error = error
        self.report.errors.append(error)
        logger.warning(
            "delivery to %s failed (attempt %d): %s", self.sink.name, state.attempts, error
        )
        if now - state.first_failure_at >= self.d.retry.window:
            for item in unit:
                await self.d.subscriptions.dead_letter(
                    self.sink.name,
                    DeadLetter(
                        seq=item.seq,
                        event=item.event,
                        attempts=state.attempts,
                        error=error,
                        dead_lettered_at=now,
                    ),
                )
            logger.error(
                "delivery to %s gave up on %d event(s) after %d attempts: dead-lettered",
                self.sink.name,
                len(unit),
                state.attempts,
            )
            state.cursor = unit[-1].seq
            state.dead_lettered += len(unit)
            self.report.dead_lettered += len(unit)
            state.attempts = 0
            state.first_failure_at = None
            state.next_attempt_at = None
            return True
        delay = self.d.retry.backoff(state.attempts)
        if delay <= self.d.retry.inline_wait and time.monotonic() + delay < self.deadline:
            await asyncio.sleep(delay)
            return True
        state.next_attempt_at = now + timedelta(seconds=delay)
        return False

    async def _checkpoint(self, *, force: bool = False) -> bool:
        """Save the cursor now and then (renewing the lease); False if the lease was lost."""
        lease_third = self.d.lease.total_seconds() / 3
        due = self.unsaved >= SAVE_EVERY or time.monotonic() - self.saved_at >= lease_third
        if not (force or due):
            return True
        now: datetime = self.d.clock()
        self.state.lease_until = now + self.d.lease
        self.unsaved = 0
        self.saved_at = time.monotonic()
        return await self.d.subscriptions.save(self.lease)
