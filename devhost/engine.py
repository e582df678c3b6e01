"""The local Durable engine: runs orchestrations episode by episode through the SDK, runs
activities in a bounded pool, fires timers, and keeps everything in Table Storage so a host
killed at any moment resumes where it was (see durable_store.py for the commit protocol).

Per instance, episodes never overlap (a lock); across instances they run concurrently.
Activities are at-least-once, as in Azure: a result is stored before it is applied, so a
finished activity is never run again, while one that was running at a crash runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError

from devhost import speedups
from devhost.durable_store import DurableStore, Instance, Message, new_message_key, utc_now
from devhost.invoke import invoke_activity
from devhost.loader import FunctionApp
from devhost.replay import (
    ActivityCall,
    Episode,
    EventType,
    OrchestrationReplay,
    SubOrchestrationCall,
    event_raised,
    sub_orchestration_completed,
    sub_orchestration_failed,
    task_completed,
    task_failed,
    timer_fired,
)

logger = logging.getLogger("devhost.engine")

# Messages consumed per episode: their deletions must fit in the commit transaction.
MAX_MESSAGES_PER_EPISODE = 60
LIVE = ("Pending", "Running", "Suspended")
_CONTROL = ("terminate", "suspend", "resume")


class EngineError(Exception):
    status = 400


class InstanceExists(EngineError):
    status = 409


class InstanceNotFound(EngineError):
    status = 404


class InstanceGone(EngineError):
    status = 410


@dataclass
class _Runtime:
    instance: Instance
    replay: OrchestrationReplay | None = None
    pending: list[Message] = field(default_factory=list)
    finished_tasks: set[int] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(order=True)
class _Timer:
    fire_at: datetime
    seq: int
    instance_id: str = field(compare=False)
    execution: int = field(compare=False)
    timer_id: int = field(compare=False)


@dataclass
class _Work:
    instance_id: str
    execution: int
    call: ActivityCall


class Engine:
    def __init__(
        self,
        app: FunctionApp,
        store: DurableStore,
        *,
        max_activities: int = 10,
        max_orchestrations: int = 10,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        speedups.install()
        self.app = app
        self.store = store
        self.clock = clock
        self.max_activities = max_activities
        self.max_orchestrations = max_orchestrations
        self._runtimes: dict[str, _Runtime] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._work: asyncio.Queue[_Work] = asyncio.Queue()
        self._timers: list[_Timer] = []
        self._cancelled: set[tuple[str, int, int]] = set()
        self._timer_changed = asyncio.Event()
        self._seq = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self.episodes = 0
        self.activities_run = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.store.open()
        await self._recover()
        self._tasks = [
            *(
                asyncio.create_task(self._orchestration_worker())
                for _ in range(self.max_orchestrations)
            ),
            *(asyncio.create_task(self._activity_worker()) for _ in range(self.max_activities)),
            asyncio.create_task(self._timer_loop()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _recover(self) -> None:
        """Rebuild in-memory work from storage: every live instance's open activities,
        timers and sub-orchestrations, and its waiting messages."""
        live = await self.store.query(
            "RowKey eq @row and "
            "(status eq 'Pending' or status eq 'Running' or status eq 'Suspended')"
        )
        for instance in live:
            runtime = await self._load(instance.instance_id)
            if runtime is None:
                continue
            self._resume_open_work(runtime)
            if runtime.pending or instance.history_count == 0:
                self._schedule(instance.instance_id)
        if live:
            logger.info("recovered %d live orchestration instance(s)", len(live))

    def _resume_open_work(self, runtime: _Runtime) -> None:
        instance, history = runtime.instance, runtime.replay.history if runtime.replay else []
        finished = set(runtime.finished_tasks)
        for message in runtime.pending:
            if message.body.get("execution") == instance.execution and "task_id" in message.body:
                finished.add(message.body["task_id"])
        cancelled = set(runtime.replay.state.cancelled) if runtime.replay else set()
        for event in history:
            kind, event_id = event["EventType"], event["EventId"]
            if event_id in finished:
                continue
            if kind == EventType.TASK_SCHEDULED:
                call = ActivityCall(event_id, event["Name"], event.get("Input") or "null")
                self._work.put_nowait(_Work(instance.instance_id, instance.execution, call))
            elif kind == EventType.TIMER_CREATED and event_id not in cancelled:
                fire_at = datetime.fromisoformat(event["FireAt"].replace("Z", "+00:00"))
                self._add_timer(instance.instance_id, instance.execution, event_id, fire_at)
            elif kind == EventType.SUB_ORCHESTRATION_CREATED:
                call = SubOrchestrationCall(
                    event_id, event["Name"], event.get("Input") or "null", event.get("InstanceId")
                )
                asyncio.get_running_loop().create_task(self._start_child(instance, call))

    # -- client operations (the management API) --------------------------------------------

    async def start_instance(
        self,
        name: str,
        instance_id: str,
        input_text: str | None,
        *,
        parent: tuple[str, int] | None = None,
    ) -> Instance:
        if name not in self.app.orchestrators:
            raise EngineError(
                f"The function '{name}' doesn't exist, is disabled, or is not an "
                "orchestrator function."
            )
        existing = await self.store.get(instance_id)
        if existing is not None:
            if not existing.terminal:
                raise InstanceExists(f"An instance with ID '{instance_id}' already exists.")
            await self._forget(instance_id)
            await self.store.purge(instance_id)
        now = self.clock()
        instance = Instance(
            instance_id=instance_id,
            name=name,
            status="Pending",
            input=input_text,
            created=now,
            updated=now,
            parent_instance_id=parent[0] if parent else None,
            parent_task_id=parent[1] if parent else None,
        )
        try:
            await self.store.create(instance)
        except ResourceExistsError:
            raise InstanceExists(f"An instance with ID '{instance_id}' already exists.") from None
        self._runtimes[instance_id] = _Runtime(instance)
        self._schedule(instance_id)
        return instance

    async def raise_event(self, instance_id: str, name: str, input_text: str | None) -> None:
        instance = await self._live_instance(instance_id)
        await self._post(instance.instance_id, "event", {"name": name, "input": input_text})

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self._live_instance(instance_id)
        await self._post(instance_id, "terminate", {"reason": reason})

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self._live_instance(instance_id)
        await self._post(instance_id, "suspend", {"reason": reason})

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._live_instance(instance_id)
        await self._post(instance_id, "resume", {"reason": reason})

    async def get(self, instance_id: str) -> Instance | None:
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime.instance
        return await self.store.get(instance_id)

    async def history(self, instance: Instance) -> list[dict[str, Any]]:
        runtime = self._runtimes.get(instance.instance_id)
        if runtime is not None and runtime.replay is not None:
            return list(runtime.replay.history)
        return await self.store.history(instance)

    async def purge(self, instance_id: str) -> int:
        instance = await self.get(instance_id)
        if instance is None:
            return 0
        if not instance.terminal:
            raise EngineError(f"Instance '{instance_id}' is still running; terminate it first.")
        await self._forget(instance_id)
        return await self.store.purge(instance_id)

    async def _live_instance(self, instance_id: str) -> Instance:
        instance = await self.get(instance_id)
        if instance is None:
            raise InstanceNotFound(f"No instance with ID '{instance_id}' found.")
        if instance.terminal:
            raise InstanceGone(
                f"Instance with ID '{instance_id}' is gone: it is {instance.status}."
            )
        return instance

    async def _forget(self, instance_id: str) -> None:
        runtime = self._runtimes.pop(instance_id, None)
        if runtime is not None:
            async with runtime.lock:
                runtime.pending.clear()

    async def _post(
        self, instance_id: str, kind: str, body: dict[str, Any], durable: bool = True
    ) -> None:
        message = Message(new_message_key() if durable else None, kind, body)
        if durable:
            await self.store.post(instance_id, message)
        runtime = self._runtimes.get(instance_id) or await self._load(instance_id)
        if runtime is None:
            return
        runtime.pending.append(message)
        self._schedule(instance_id)

    # -- orchestration episodes ------------------------------------------------------------

    def _schedule(self, instance_id: str) -> None:
        if instance_id not in self._queued:
            self._queued.add(instance_id)
            self._ready.put_nowait(instance_id)

    async def _orchestration_worker(self) -> None:
        while True:
            instance_id = await self._ready.get()
            self._queued.discard(instance_id)
            try:
                await self._process(instance_id)
            except Exception:
                logger.exception("orchestration instance %s: episode failed; retrying", instance_id)
                self._runtimes.pop(instance_id, None)
                await asyncio.sleep(1)
                self._schedule(instance_id)

    async def _load(self, instance_id: str) -> _Runtime | None:
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime
        instance = await self.store.get(instance_id)
        if instance is None:
            return None
        runtime = _Runtime(instance)
        if instance.history_count:
            history = await self.store.history(instance)
            handle = self.app.orchestrators[instance.name].handle
            runtime.replay = OrchestrationReplay(handle, instance.replay_state(history))
            runtime.finished_tasks = _finished_tasks(history)
        runtime.pending = await self.store.inbox(instance_id)
        return self._runtimes.setdefault(instance_id, runtime)

    async def _process(self, instance_id: str) -> None:
        runtime = await self._load(instance_id)
        if runtime is None:
            return
        async with runtime.lock:
            if self._runtimes.get(instance_id) is not runtime:
                return  # purged or reloaded meanwhile
            instance = runtime.instance
            if instance.terminal:
                await self._drop_messages(runtime)
                return
            if instance.status == "Suspended":
                # Messages wait while suspended; only a resume or a terminate acts.
                waiting = (m for m in runtime.pending if m.kind in ("resume", "terminate"))
                control = next(waiting, None)
                if control is None:
                    return
                consumed = [control]
            else:
                consumed = _next_batch(runtime.pending)
                control = next((m for m in consumed if m.kind in _CONTROL), None)
                if control is not None:
                    consumed = consumed[: consumed.index(control) + 1]
            events, now = self._events(runtime, consumed), self.clock()
            episodes: list[Episode] = []
            started = instance.history_count == 0 and instance.status != "Suspended"
            if control is not None and control.kind == "terminate":
                instance.status = "Terminated"
                instance.output = json.dumps(control.body.get("reason") or "")
            elif control is not None and control.kind == "suspend":
                instance.status = "Suspended"
            elif (
                control is not None and control.kind == "resume" and instance.status == "Suspended"
            ):
                instance.status = "Running" if instance.history_count else "Pending"
            if instance.status not in ("Terminated", "Suspended"):
                if runtime.replay is None:
                    handle = self.app.orchestrators[instance.name].handle
                    runtime.replay = OrchestrationReplay.new(
                        handle,
                        instance_id,
                        instance.name,
                        instance.input,
                        instance.parent_instance_id,
                    )
                if started:
                    episodes.append(runtime.replay.start(now))
                if events:
                    episodes.extend(runtime.replay.deliver(events, now))
                instance.status = "Running"
            await self._commit(runtime, episodes, consumed, now)
            if runtime.pending:
                self._schedule(instance_id)

    def _events(self, runtime: _Runtime, messages: list[Message]) -> list[dict[str, Any]]:
        execution, now, events = runtime.instance.execution, self.clock(), []
        for message in messages:
            body = message.body
            if message.kind == "event":
                events.append(event_raised(body["name"], body.get("input"), now))
                continue
            if message.kind in ("terminate", "suspend", "resume"):
                continue
            task_id = body.get("task_id")
            if body.get("execution") != execution or task_id in runtime.finished_tasks:
                continue  # from an earlier execution, or a duplicate of a result already applied
            runtime.finished_tasks.add(task_id)
            if message.kind == "task_completed":
                events.append(task_completed(task_id, body["result"], now))
            elif message.kind == "task_failed":
                events.append(task_failed(task_id, body["reason"], body["details"], now))
            elif message.kind == "sub_completed":
                events.append(sub_orchestration_completed(task_id, body["result"], now))
            elif message.kind == "sub_failed":
                events.append(
                    sub_orchestration_failed(task_id, body["reason"], body["details"], now)
                )
            elif message.kind == "timer_fired":
                events.append(timer_fired(task_id, datetime.fromisoformat(body["fire_at"]), now))
        return events

    async def _commit(
        self, runtime: _Runtime, episodes: list[Episode], consumed: list[Message], now: datetime
    ) -> None:
        instance, replay = runtime.instance, runtime.replay
        first_seq = instance.history_count
        new_events = replay.history[first_seq:] if replay is not None else []
        done = next((episode for episode in episodes if episode.done), None)
        continued = done is not None and done.continue_as_new is not None
        for episode in episodes:
            if episode.custom_status is not None:
                instance.custom_status = json.dumps(episode.custom_status)
        instance.updated = now
        if continued:
            instance.execution += 1
            instance.history_count = 0
            instance.input = done.continue_as_new
            instance.replay = {}
            new_events = []
        else:
            if replay is not None:
                instance.history_count = len(replay.history)
                snapshot = replay.snapshot().to_json()
                snapshot.pop("history")
                instance.replay = snapshot
            if done is not None and done.error is not None:
                instance.status, instance.output = "Failed", json.dumps(done.error)
            elif done is not None:
                instance.status, instance.output = "Completed", json.dumps(done.output)
        try:
            await self.store.commit(instance, new_events, consumed, first_seq=first_seq)
        except HttpResponseError:
            # The commit did not land: forget what this episode did and replay from storage.
            self._runtimes.pop(instance.instance_id, None)
            raise
        self.episodes += len(episodes)
        consumed_keys = {id(message) for message in consumed}
        runtime.pending = [m for m in runtime.pending if id(m) not in consumed_keys]
        if continued:
            runtime.replay, runtime.finished_tasks = None, set()
            asyncio.get_running_loop().create_task(
                self.store.delete_old_history(instance.instance_id, instance.execution)
            )
            self._schedule(instance.instance_id)
            return
        for episode in episodes:
            self._dispatch(instance, episode)
        if instance.terminal:
            self._drop_timers(instance.instance_id)
            await self._notify_parent(instance)

    def _dispatch(self, instance: Instance, episode: Episode) -> None:
        for call in episode.activities:
            self._work.put_nowait(_Work(instance.instance_id, instance.execution, call))
        for timer in episode.timers:
            self._add_timer(instance.instance_id, instance.execution, timer.timer_id, timer.fire_at)
        for timer_id in episode.cancelled_timers:
            self._cancelled.add((instance.instance_id, instance.execution, timer_id))
        for sub in episode.sub_orchestrations:
            asyncio.get_running_loop().create_task(self._start_child(instance, sub))

    async def _drop_messages(self, runtime: _Runtime) -> None:
        stale, runtime.pending = runtime.pending, []
        for message in stale:
            if message.key:
                with contextlib.suppress(HttpResponseError):
                    await self.store.table.delete_entity(runtime.instance.instance_id, message.key)

    # -- sub-orchestrations ----------------------------------------------------------------

    async def _start_child(self, parent: Instance, call: SubOrchestrationCall) -> None:
        child_id = call.instance_id or f"{parent.instance_id}:{parent.execution}:{call.task_id}"
        existing = await self.store.get(child_id)
        if existing is not None and existing.parent_instance_id == parent.instance_id:
            if existing.terminal:
                await self._notify_parent(existing)
            return
        try:
            await self.start_instance(
                call.name, child_id, call.input, parent=(parent.instance_id, call.task_id)
            )
        except EngineError as exc:
            await self._post(
                parent.instance_id,
                "sub_failed",
                {
                    "execution": parent.execution,
                    "task_id": call.task_id,
                    "reason": str(exc),
                    "details": "",
                },
            )

    async def _notify_parent(self, child: Instance) -> None:
        if child.parent_instance_id is None or child.parent_task_id is None:
            return
        parent = await self.get(child.parent_instance_id)
        if parent is None or parent.terminal:
            return
        body: dict[str, Any] = {"execution": parent.execution, "task_id": child.parent_task_id}
        if child.status == "Completed":
            await self._post(
                parent.instance_id, "sub_completed", {**body, "result": child.output or "null"}
            )
        else:
            reason = json.loads(child.output) if child.output else child.status
            await self._post(
                parent.instance_id,
                "sub_failed",
                {
                    **body,
                    "reason": f"Orchestrator function '{child.name}' failed: {reason}",
                    "details": "",
                },
            )

    # -- activities ------------------------------------------------------------------------

    async def _activity_worker(self) -> None:
        while True:
            work = await self._work.get()
            try:
                await self._run_activity(work)
            except Exception:
                logger.exception(
                    "activity %s of %s could not be recorded; it will run again",
                    work.call.name,
                    work.instance_id,
                )
                await asyncio.sleep(1)
                self._work.put_nowait(work)

    async def _run_activity(self, work: _Work) -> None:
        instance = await self.get(work.instance_id)
        if instance is None or instance.terminal or instance.execution != work.execution:
            return
        activity = self.app.activities.get(work.call.name)
        body: dict[str, Any] = {"execution": work.execution, "task_id": work.call.task_id}
        if activity is None:
            reason = (
                f"The function '{work.call.name}' doesn't exist, is disabled, or is not an "
                "activity function."
            )
            await self._post(
                work.instance_id, "task_failed", {**body, "reason": reason, "details": ""}
            )
            return
        outcome = await invoke_activity(activity, work.call.input)
        self.activities_run += 1
        if outcome.ok:
            await self._post(work.instance_id, "task_completed", {**body, "result": outcome.result})
        else:
            logger.warning(
                "activity %s of %s failed: %s", work.call.name, work.instance_id, outcome.reason
            )
            await self._post(
                work.instance_id,
                "task_failed",
                {**body, "reason": outcome.reason, "details": outcome.details},
            )

    # -- timers ----------------------------------------------------------------------------

    def _add_timer(
        self, instance_id: str, execution: int, timer_id: int, fire_at: datetime
    ) -> None:
        heapq.heappush(
            self._timers, _Timer(fire_at, next(self._seq), instance_id, execution, timer_id)
        )
        self._timer_changed.set()

    def _drop_timers(self, instance_id: str) -> None:
        self._timers = [t for t in self._timers if t.instance_id != instance_id]
        heapq.heapify(self._timers)

    async def _timer_loop(self) -> None:
        while True:
            self._timer_changed.clear()
            if not self._timers:
                await self._timer_changed.wait()
                continue
            delay = (self._timers[0].fire_at - self.clock()).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._timer_changed.wait(), timeout=min(delay, 60))
                continue
            timer = heapq.heappop(self._timers)
            if (timer.instance_id, timer.execution, timer.timer_id) in self._cancelled:
                continue
            # Not stored: after a crash the timer is found again in the history and re-fires.
            await self._post(
                timer.instance_id,
                "timer_fired",
                {
                    "execution": timer.execution,
                    "task_id": timer.timer_id,
                    "fire_at": timer.fire_at.isoformat(),
                },
                durable=False,
            )

    # -- test and bench helpers ------------------------------------------------------------

    async def wait_for(self, instance_id: str, statuses: tuple[str, ...]) -> Instance:
        """Poll until the instance reaches one of `statuses` (wrap in asyncio.timeout)."""
        while True:
            instance = await self.get(instance_id)
            if instance is not None and instance.status in statuses:
                return instance
            await asyncio.sleep(0.02)


def _next_batch(pending: list[Message]) -> list[Message]:
    """Results batch up; a raised event goes alone. If a result ends the generation
    (continue-as-new), the SDK reads nothing after it in that episode, and an event there
    would be lost instead of reaching the next generation."""
    if pending and pending[0].kind == "event":
        return pending[:1]
    batch = []
    for message in pending[:MAX_MESSAGES_PER_EPISODE]:
        if message.kind == "event":
            break
        batch.append(message)
    return batch


def _finished_tasks(history: list[dict[str, Any]]) -> set[int]:
    finished = set()
    for event in history:
        kind = event["EventType"]
        if kind in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_COMPLETED,
            EventType.SUB_ORCHESTRATION_FAILED,
        ):
            finished.add(event["TaskScheduledId"])
        elif kind == EventType.TIMER_FIRED:
            finished.add(event["TimerId"])
    return finished
