"""Dispatching soon after a write, in the background: the store tells the nudger which
outbox it wrote to (Tables.outbox_listener), and the nudger moves those rows and delivers,
on the event loop but never inside the step or request that wrote them. Nudges that arrive
meanwhile are gathered into the next round; each sink is delivered to by its own task, so
a slow one holds up neither the moving nor the other sinks. Best effort: what a nudge
misses (the process ends first) the events timer's sweep finds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haymaker.events.delivery import Sink
    from haymaker.events.dispatcher import Dispatcher, Outbox

logger = logging.getLogger("haymaker.events")


class Nudger:
    def __init__(self, dispatcher: Callable[[], Dispatcher]) -> None:
        self.dispatcher = dispatcher  # made per round: the runtime's current settings
        self._pending: set[Outbox] = set()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._sinks: dict[str, asyncio.Task[None]] = {}
        self._rerun: set[str] = set()

    def __call__(self, table: str, partition: str) -> None:
        self._pending.add((table, partition))
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._rounds())

    async def _rounds(self) -> None:
        while self._again:
            self._again = False
            outboxes, self._pending = self._pending, set()
            try:
                dispatcher = self.dispatcher()
                await dispatcher.move(sorted(outboxes))
                await self._deliver(dispatcher)
            except Exception:
                logger.exception("event dispatch after a write failed; the timer retries")

    async def _deliver(self, dispatcher: Dispatcher) -> None:
        for sink in await dispatcher.sinks():
            running = self._sinks.get(sink.name)
            if running is not None and not running.done():
                self._rerun.add(sink.name)  # it reads the feed again when it is done
                await sink.close()
                continue
            self._sinks[sink.name] = asyncio.get_running_loop().create_task(
                self._sink_rounds(dispatcher, sink)
            )

    async def _sink_rounds(self, dispatcher: Dispatcher, sink: Sink) -> None:
        try:
            while True:
                await dispatcher.deliver_to(sink)
                if sink.name not in self._rerun:
                    return
                self._rerun.discard(sink.name)
        finally:
            await sink.close()

    async def idle(self) -> None:
        """Wait until nothing is running (tests, shutdown)."""
        while True:
            running = [t for t in (self._task, *self._sinks.values()) if t and not t.done()]
            if not running:
                return
            await asyncio.wait(running)
