"""The local Durable engine: runs orchestrations episode by episode through the SDK, runs
activities in a bounded pool, fires timers, and keeps everything in Table Storage so a host
killed at any moment resumes where it was (see durable_store.py for the commit protocol).

Per instance, episodes never overlap (a lock); across instances they run concurrently.
Activities are at-least-once, as in Azure: a result is stored before it is applied, so a
finished activity is never run again, while one that was running at a crash runs again.

If storage stops answering, the engine pauses; when it answers again, the engine drops what
it held in memory and recovers from storage exactly as a restarted host does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core.exceptions import (
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)

from devhost import speedups
from devhost.durable_store import CommitPlan, DurableStore, Instance, Message, utc_now
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

# Messages applied in one episode, at most.
MAX_MESSAGES_PER_EPISODE = 1000
DELETE_BATCH = 50  # consumed message rows of a busy instance deleted per transaction
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
    seen: set[int] = field(default_factory=set)  # numbers of stored messages in `pending`
    finished_tasks: set[int] = field(default_factory=set)
    # Ids of the tasks, timers and sub-orchestrations this execution's history asked for.
    scheduled: set[int] = field(default_factory=set)
    epoch: int = 0  # the engine epoch it was loaded in (see Engine._forget_everything)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    running_activities: int = 0
    last_episode_seconds: float = 0.0
    etag: str | None = None  # of the last commit written
    durable: Instance | None = None  # the instance as last written
    committing: asyncio.Task[None] | None = None  # the last commit queued
    broken: bool = False  # a commit failed: this runtime is stale
    # The history may lack work an unrecorded episode asked for (its commit was lost to a
    # crash or an outage): the next episode replays even without new events, so the
    # orchestrator asks for that work again.
    replay_again: bool = False

    def __post_init__(self) -> None:
        self.etag = self.instance.etag
        self.durable = dataclasses.replace(self.instance, tail=[], replay={})

    def receive(self, message: Message) -> None:
        if message.seq is not None:
            if message.seq in self.seen or message.seq <= self.instance.inbox_cursor:
                return
            self.seen.add(message.seq)
        self.pending.append(message)


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
    epoch: int = 0  # the engine epoch that asked for it; older work is dropped


def _is_outage(exc: BaseException) -> bool:
    """Storage did not answer at all (as opposed to answering with an error)."""
    return isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError))


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
        # Per instance: the next message number, and messages waiting to be stored. One
        # flush at a time per instance, so messages land, and are consumed, in number order.
        self._next_seq: dict[str, int] = {}
        self._outbox: dict[str, list[Message]] = {}
        self._rows: dict[str, dict[int, int]] = {}  # stored message rows: first -> last number
        self._background: set[asyncio.Task[Any]] = set()
        # Sync activities and replays get thread pools of their own, so neither starves the other.
        self._activity_threads = ThreadPoolExecutor(max_activities, thread_name_prefix="activity")
        self._replay_threads = ThreadPoolExecutor(max_orchestrations, thread_name_prefix="replay")
        self.episodes = 0
        self.activities_run = 0
        # Bumped on each recovery from a storage outage: work from before it is stale.
        self._epoch = 0
        self._storage_up = asyncio.Event()
        self._storage_up.set()
        self._outage_seen = False  # storage failed since the current recovery began

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
        """Stop working; commits already queued are written first."""
        for task in self._tasks:
            task.cancel()
        commits = [r.committing for r in self._runtimes.values() if r.committing is not None]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*commits, return_exceptions=True), 10)
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self._activity_threads.shutdown(wait=False, cancel_futures=True)
        self._replay_threads.shutdown(wait=False, cancel_futures=True)

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
            if instance.history_count:
                runtime.replay_again = True
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
                runtime.running_activities += 1
                self._work.put_nowait(
                    _Work(instance.instance_id, instance.execution, call, self._epoch)
                )
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
        self._runtimes[instance_id] = _Runtime(instance, epoch=self._epoch)
        self._next_seq[instance_id] = 1
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
        """The instance as last written to storage."""
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime.durable
        return await self.store.get(instance_id)

    async def _current(self, instance_id: str) -> Instance | None:
        """The instance as this host last changed it (its commit may still be in flight)."""
        runtime = await self._load(instance_id)
        return runtime.instance if runtime is not None else None

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
        instance = await self._current(instance_id)
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
        self,
        instance_id: str,
        kind: str,
        body: dict[str, Any],
        durable: bool = True,
        wait: bool = True,
    ) -> asyncio.Future[None] | None:
        """Deliver a message to an instance: stored first (unless `durable` is False), then
        queued for its next episode. Messages posted together are stored together."""
        runtime = await self._load(instance_id)
        if runtime is None:
            return None
        if not durable:
            runtime.receive(Message(None, kind, body))
            self._schedule(instance_id)
            return None
        seq = self._next_seq[instance_id]
        self._next_seq[instance_id] = seq + 1
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        message = Message(seq, kind, body, stored)
        outbox = self._outbox.setdefault(instance_id, [])
        outbox.append(message)
        if len(outbox) == 1:
            self._spawn(self._flush(instance_id))
        # The next episode may start while the message is being stored; it will not commit
        # before the message is stored.
        runtime.receive(message)
        self._schedule(instance_id)
        if wait:
            await asyncio.shield(stored)
        return stored

    async def _flush(self, instance_id: str) -> None:
        outbox = self._outbox[instance_id]
        while outbox:
            batch = outbox[:1000]
            try:
                await self.store.post(instance_id, batch)
            except Exception as exc:
                self._storage_failed(exc)
                for message in batch:
                    message.stored.set_exception(exc)
            else:
                rows = self._rows.setdefault(instance_id, {})
                for message in batch:
                    assert message.row is not None
                    assert message.seq is not None
                    rows[message.row] = max(rows.get(message.row, 0), message.seq)
                runtime = self._runtimes.get(instance_id)
                for message in batch:
                    if runtime is not None:
                        runtime.receive(message)  # a runtime reloaded meanwhile may lack it
                    message.stored.set_result(None)
            del outbox[: len(batch)]

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- orchestration episodes ------------------------------------------------------------

    def _schedule(self, instance_id: str) -> None:
        if instance_id not in self._queued:
            self._queued.add(instance_id)
            self._ready.put_nowait(instance_id)

    async def _orchestration_worker(self) -> None:
        while True:
            await self._storage_up.wait()
            instance_id = await self._ready.get()
            self._queued.discard(instance_id)
            try:
                await self._process(instance_id)
            except Exception as exc:
                if self._storage_failed(exc):
                    continue  # the recovery reschedules every live instance
                logger.exception("orchestration instance %s: episode failed; retrying", instance_id)
                self._runtimes.pop(instance_id, None)
                await asyncio.sleep(1)
                self._schedule(instance_id)

    # -- storage outages -------------------------------------------------------------------

    def _storage_failed(self, exc: BaseException) -> bool:
        """True when `exc` means storage is unreachable: the engine then pauses, and once
        storage answers, recovers from it as a restarted host would."""
        if not _is_outage(exc):
            return False
        self._outage_seen = True
        if self._storage_up.is_set():
            self._storage_up.clear()
            logger.error(
                "storage is unreachable (%s: %s); orchestrations pause until it answers",
                type(exc).__name__,
                exc,
            )
            self._spawn(self._recover_when_storage_answers())
        return True

    async def _recover_when_storage_answers(self) -> None:
        while True:
            await self._until_storage_answers()
            logger.warning("storage is reachable again; reloading live orchestrations from it")
            self._outage_seen = False
            self._forget_everything()
            try:
                await self._recover()
            except Exception:
                logger.exception("recovery from storage failed; trying again")
                continue
            # Work resumed during the recovery may have met storage down again: if so, again.
            if not self._outage_seen:
                break
        self._storage_up.set()

    async def _until_storage_answers(self) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            try:
                await self.store.get("storage-probe")
                return
            except Exception as exc:  # refused, reset, or an error while it starts up
                logger.debug("storage probe: %s: %s", type(exc).__name__, exc)
                delay = min(delay * 2, 5.0)

    def _forget_everything(self) -> None:
        """Drop all in-memory work; what mattered is in storage and comes back from it."""
        self._epoch += 1
        for runtime in self._runtimes.values():
            runtime.broken = True  # its queued commits are not written
        self._runtimes.clear()
        self._queued.clear()
        for queue in (self._ready, self._work):
            while not queue.empty():
                queue.get_nowait()
        self._timers, self._cancelled = [], set()
        self._timer_changed.set()
        self._outbox.clear()
        self._next_seq.clear()
        self._rows.clear()

    async def _load(self, instance_id: str) -> _Runtime | None:
        runtime = self._runtimes.get(instance_id)
        if runtime is not None:
            return runtime
        instance = await self.store.get(instance_id)
        if instance is None:
            return None
        runtime = _Runtime(instance, epoch=self._epoch)
        history = await self.store.history(instance)
        if history:
            handle = self.app.orchestrators[instance.name].handle
            runtime.replay = OrchestrationReplay(handle, instance.replay_state(history))
            runtime.finished_tasks = _finished_tasks(history)
            runtime.scheduled = _scheduled_ids(history)
        waiting, rows = await self.store.inbox(instance)
        for message in waiting:
            runtime.receive(message)
        self._rows.setdefault(instance_id, {}).update(rows)
        self._delete_consumed_rows(instance)
        highest = max([instance.inbox_cursor, *rows.values()])
        self._next_seq[instance_id] = max(self._next_seq.get(instance_id, 1), highest + 1)
        return self._runtimes.setdefault(instance_id, runtime)

    def _delete_consumed_rows(
        self, instance: Instance, everything: bool = False, flush: bool = True
    ) -> None:
        """Rows of consumed messages are dead weight; losing this cleanup only costs storage.
        Without `flush`, they are deleted DELETE_BATCH at a time: one transaction per step
        would cost a busy instance a round trip a step for nothing it reads again."""
        rows = self._rows.get(instance.instance_id, {})
        done = [row for row, last in rows.items() if everything or last <= instance.inbox_cursor]
        if not (everything or flush) and len(done) < DELETE_BATCH:
            return
        for row in done:
            del rows[row]
        if done:
            self._spawn(self._delete_rows(instance.instance_id, done))

    async def _delete_rows(self, instance_id: str, rows: list[int]) -> None:
        with contextlib.suppress(Exception):
            await self.store.delete_message_rows(instance_id, rows)

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
                await self._gather_results(runtime)
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
                began = time.perf_counter()
                # Replays run on a worker thread, as the Python worker runs orchestrators, so
                # the loop keeps storing messages and serving requests meanwhile.
                again, runtime.replay_again = runtime.replay_again and not events, False
                episodes = await asyncio.get_running_loop().run_in_executor(
                    self._replay_threads, _replay, runtime.replay, started, events, now, again
                )
                runtime.last_episode_seconds = time.perf_counter() - began
                instance.status = "Running"
            self._commit(runtime, episodes, consumed, now)
            if runtime.pending:
                self._schedule(instance_id)

    async def _gather_results(self, runtime: _Runtime) -> None:
        """With many activities still running, wait as long as the last episode took before
        replaying, so that replays, whose cost grows with the history, take bigger batches."""
        running = runtime.running_activities
        if running > 1 and len(runtime.pending) < min(running, MAX_MESSAGES_PER_EPISODE):
            await asyncio.sleep(min(runtime.last_episode_seconds, 0.25))

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
            if task_id not in runtime.scheduled:
                # From work an unrecorded episode asked for (its commit failed, or storage went
                # away): the history has no such task yet. Applying it would complete a task
                # before it exists; a replay asks for the work again, so it is not lost.
                logger.debug(
                    "instance %s: dropped a result for unscheduled task %s",
                    runtime.instance.instance_id,
                    task_id,
                )
                runtime.replay_again = True
                continue
            runtime.finished_tasks.add(task_id)
            if message.kind in ("task_completed", "task_failed"):
                runtime.running_activities = max(0, runtime.running_activities - 1)
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

    def _commit(
        self, runtime: _Runtime, episodes: list[Episode], consumed: list[Message], now: datetime
    ) -> None:
        """Apply an episode to the in-memory instance, start the work it asked for, and queue
        its commit behind the instance's previous one. Commits are written in order; the next
        episode may replay meanwhile, so a slow write and a slow replay overlap."""
        instance, replay = runtime.instance, runtime.replay
        new_events = replay.history[instance.history_count :] if replay is not None else []
        done = next((episode for episode in episodes if episode.done), None)
        continued = done is not None and done.continue_as_new is not None
        for episode in episodes:
            if episode.custom_status is not None:
                instance.custom_status = json.dumps(episode.custom_status)
        consumed_seqs = [m.seq for m in consumed if m.seq is not None]
        if consumed_seqs:
            instance.inbox_cursor = max(instance.inbox_cursor, *consumed_seqs)
        instance.updated = now
        runtime.scheduled |= _scheduled_ids(new_events)
        if continued:
            instance.execution += 1
            instance.input = done.continue_as_new
            instance.replay, instance.tail, instance.pages, instance.history_count = {}, [], 0, 0
        else:
            if replay is not None:
                instance.tail.extend(new_events)
                instance.history_count = len(replay.history)
                instance.replay = replay.bookkeeping()
            if done is not None and done.error is not None:
                instance.status, instance.output = "Failed", json.dumps(done.error)
            elif done is not None:
                instance.status, instance.output = "Completed", json.dumps(done.output)
            # Start the work this episode asked for while its commit is written. If the commit
            # fails or the host dies first, the episode is replayed and the work is asked for
            # again: activities are at-least-once, and results already in are not run again.
            for episode in episodes:
                self._dispatch(runtime, episode)
        plan = CommitPlan.of(instance)
        snapshot = dataclasses.replace(instance, tail=[], replay={})
        consumed_ids = {id(message) for message in consumed}
        runtime.pending = [m for m in runtime.pending if id(m) not in consumed_ids]
        runtime.seen.difference_update(consumed_seqs)
        if continued:
            runtime.replay, runtime.finished_tasks, runtime.scheduled = None, set(), set()
        runtime.committing = asyncio.get_running_loop().create_task(
            self._write(runtime, plan, snapshot, runtime.committing, consumed, continued)
        )
        self.episodes += len(episodes)

    async def _write(
        self,
        runtime: _Runtime,
        plan: CommitPlan,
        snapshot: Instance,
        previous: asyncio.Task[None] | None,
        consumed: list[Message],
        continued: bool,
    ) -> None:
        instance_id = snapshot.instance_id
        if previous is not None:
            await previous
        if runtime.broken:
            return
        try:
            # The commit records the consumed messages as history events, so it need not wait
            # for their own rows: a row that lands later is at or below the cursor, i.e. spent.
            runtime.etag = await self.store.commit(plan, runtime.etag)
        except Exception as exc:
            runtime.broken = True
            if self._storage_failed(exc):
                return
            # The commit did not land: drop this runtime (and the commits queued behind it)
            # and replay from storage.
            logger.exception("orchestration instance %s: commit failed; reloading", instance_id)
            if self._runtimes.get(instance_id) is runtime:
                del self._runtimes[instance_id]
            await asyncio.sleep(0.5)
            self._schedule(instance_id)
            return
        runtime.durable = snapshot
        idle = runtime.running_activities == 0 and not runtime.pending
        self._delete_consumed_rows(snapshot, flush=idle or continued or snapshot.terminal)
        if continued:
            self._spawn(self.store.delete_old_history(instance_id, snapshot.execution))
            self._schedule(instance_id)
        elif snapshot.terminal:
            self._drop_timers(instance_id)
            await self._notify_parent(snapshot)

    def _dispatch(self, runtime: _Runtime, episode: Episode) -> None:
        if runtime.epoch != self._epoch:
            return  # replayed across a storage outage: the recovery asks for its work again
        instance = runtime.instance
        for call in episode.activities:
            if call.task_id in runtime.finished_tasks:
                continue  # its result is already in (stored before a crash lost the scheduling)
            runtime.running_activities += 1
            self._work.put_nowait(
                _Work(instance.instance_id, instance.execution, call, runtime.epoch)
            )
        for timer in episode.timers:
            self._add_timer(instance.instance_id, instance.execution, timer.timer_id, timer.fire_at)
        for timer_id in episode.cancelled_timers:
            self._cancelled.add((instance.instance_id, instance.execution, timer_id))
        for sub in episode.sub_orchestrations:
            asyncio.get_running_loop().create_task(self._start_child(instance, sub))

    async def _drop_messages(self, runtime: _Runtime) -> None:
        runtime.pending = []
        self._delete_consumed_rows(runtime.instance, everything=True)

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
            await self._storage_up.wait()
            work = await self._work.get()
            if work.epoch != self._epoch:
                continue
            try:
                await self._run_activity(work)
            except Exception as exc:
                if self._storage_failed(exc):
                    continue  # the recovery asks for the work again
                logger.exception(
                    "activity %s of %s could not be recorded; it will run again",
                    work.call.name,
                    work.instance_id,
                )
                await asyncio.sleep(1)
                self._work.put_nowait(work)

    async def _run_activity(self, work: _Work) -> None:
        instance = await self._current(work.instance_id)
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
        outcome = await invoke_activity(activity, work.call.input, self._activity_threads)
        self.activities_run += 1
        if work.epoch != self._epoch:
            return  # storage went away meanwhile: the recovery ran it again
        if outcome.ok:
            kind, result = "task_completed", {**body, "result": outcome.result}
        else:
            logger.warning(
                "activity %s of %s failed: %s", work.call.name, work.instance_id, outcome.reason
            )
            kind, result = (
                "task_failed",
                {**body, "reason": outcome.reason, "details": outcome.details},
            )
        # Move on while the result is stored; if storing fails, the activity runs again.
        stored = await self._post(work.instance_id, kind, result, wait=False)
        if stored is not None:
            stored.add_done_callback(lambda done: self._retry_unstored(done, work))

    def _retry_unstored(self, stored: asyncio.Future[None], work: _Work) -> None:
        if not stored.cancelled() and stored.exception() is None:
            return
        if work.epoch != self._epoch or self._outage_seen:
            return  # the recovery from the outage runs it again
        runtime = self._runtimes.get(work.instance_id)
        if runtime is not None and work.call.task_id in runtime.finished_tasks:
            return  # applied anyway: an episode consumed it and its commit holds it
        logger.warning(
            "result of %s for %s was not stored; running it again", work.call.name, work.instance_id
        )
        self._work.put_nowait(work)

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
            try:
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
            except Exception as exc:
                if not self._storage_failed(exc):  # after an outage, recovery re-adds timers
                    logger.exception("timer of %s failed; firing it again", timer.instance_id)
                    await asyncio.sleep(1)
                    heapq.heappush(self._timers, timer)

    # -- test and bench helpers ------------------------------------------------------------

    async def wait_for(self, instance_id: str, statuses: tuple[str, ...]) -> Instance:
        """Poll until the instance reaches one of `statuses` (wrap in asyncio.timeout)."""
        while True:
            instance = await self.get(instance_id)
            if instance is not None and instance.status in statuses:
                return instance
            await asyncio.sleep(0.02)


def _replay(
    replay: OrchestrationReplay,
    started: bool,
    events: list[dict[str, Any]],
    now: datetime,
    again: bool = False,
) -> list[Episode]:
    episodes = [replay.start(now)] if started else []
    if events:
        episodes.extend(replay.deliver(events, now))
    elif again and not started:
        episodes.append(replay.replay_again(now))
    return episodes


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


_SCHEDULING = (
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_CREATED,
)


def _scheduled_ids(events: list[dict[str, Any]]) -> set[int]:
    return {event["EventId"] for event in events if event["EventType"] in _SCHEDULING}


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
