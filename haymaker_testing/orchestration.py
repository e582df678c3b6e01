"""Run one orchestration of the real app in-process, one event at a time, through the SDK's
replay protocol (devhost.replay), with real activities and a clock the test can move."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost import speedups
from devhost.invoke import ActivityOutcome, invoke_activity
from devhost.loader import FunctionApp
from devhost.replay import (
    ActivityCall,
    Episode,
    OrchestrationReplay,
    TimerCall,
    event_raised,
    task_completed,
    task_failed,
    timer_fired,
)
from haymaker.runtime import use_runtime

ActivityHook = Callable[[ActivityCall], Awaitable[ActivityOutcome | None]]


@dataclass
class InlineOrchestration:
    app: FunctionApp
    name: str
    instance_id: str
    input: Any
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # A hook may answer an activity call itself (to inject failures); None lets it run.
    hook: ActivityHook | None = None

    def __post_init__(self) -> None:
        speedups.install()  # patches the Durable SDK for every replay: on use, not on import
        self.pending: list[ActivityCall] = []
        self.timers: dict[int, TimerCall] = {}
        self.done = False
        self.output: Any = None
        self.error: str | None = None
        self.custom_status: Any = None
        self.generations = 0
        self.history_sizes: list[int] = []
        self.calls: list[tuple[str, Any]] = []
        self.waiting_for: list[str] = []
        self._new_generation(json.dumps(self.input))

    # -- driving ---------------------------------------------------------------------------

    def _clock(self) -> datetime:
        self.now = max(self.now, datetime.now(UTC))
        return self.now

    def _new_generation(self, input_text: str) -> None:
        handle = self.app.orchestrators[self.name].handle
        self.replay = OrchestrationReplay.new(handle, self.instance_id, self.name, input_text)
        self.generations += 1
        self.pending, self.timers, self.waiting_for = [], {}, []
        self._absorb([self.replay.start(self._clock())])

    def _absorb(self, episodes: list[Episode]) -> None:
        for episode in episodes:
            self.pending.extend(episode.activities)
            for timer in episode.timers:
                self.timers[timer.timer_id] = timer
            for timer_id in episode.cancelled_timers:
                self.timers.pop(timer_id, None)
            self.waiting_for.extend(episode.waiting_for)
            if episode.custom_status is not None:
                self.custom_status = episode.custom_status
            if episode.done:
                self.history_sizes.append(len(self.replay.history))
                if episode.continue_as_new is not None:
                    self._new_generation(episode.continue_as_new)
                    return
                self.done, self.output, self.error = True, episode.output, episode.error
                self.pending, self.timers = [], {}
                return

    def deliver(self, *events: dict[str, Any]) -> None:
        self._absorb(self.replay.deliver(list(events), self._clock()))

    async def run_activity(self, index: int = 0) -> ActivityCall:
        call = self.pending.pop(index)
        self.calls.append((call.name, json.loads(call.input)))
        outcome = await self.hook(call) if self.hook else None
        if outcome is None:
            with use_runtime(clock=self._clock):
                outcome = await invoke_activity(self.app.activities[call.name], call.input)
        self.deliver(self._completion(call, outcome))
        return call

    def _completion(self, call: ActivityCall, outcome: ActivityOutcome) -> dict[str, Any]:
        if outcome.ok:
            return task_completed(call.task_id, outcome.result or "null", self._clock())
        return task_failed(call.task_id, outcome.reason or "", outcome.details or "", self._clock())

    def raise_event(self, name: str, payload: Any = None) -> None:
        self.deliver(event_raised(name, json.dumps(payload), self._clock()))

    def advance(self, delta: timedelta) -> None:
        self.now = self._clock() + delta

    def fire_next_timer(self) -> TimerCall:
        timer = min(self.timers.values(), key=lambda t: (t.fire_at, t.timer_id))
        del self.timers[timer.timer_id]
        self.now = max(self._clock(), timer.fire_at)
        self.deliver(timer_fired(timer.timer_id, timer.fire_at, self.now))
        return timer

    async def run_activities(self, limit: int | None = None) -> int:
        """Run pending activities (and the ones they lead to) until none is left."""
        count = 0
        while self.pending and (limit is None or count < limit):
            await self.run_activity()
            count += 1
        return count

    async def run_to_completion(
        self, max_rounds: int = 10_000, timer_may_fire: Callable[[], bool] | None = None
    ) -> None:
        """Run activities; when only timers remain, fire the earliest (if `timer_may_fire`
        allows). Stops when done or when nothing may happen (waiting for an event)."""
        for _ in range(max_rounds):
            if self.done:
                return
            if self.pending:
                await self.run_activity()
            elif self.timers and (timer_may_fire is None or timer_may_fire()):
                self.fire_next_timer()
            else:
                return
        raise AssertionError(f"{self.instance_id} did not settle in {max_rounds} rounds")

    def activity_names(self) -> list[str]:
        return [name for name, _ in self.calls]
