"""Drive one orchestration instance through the Durable SDK's own replay protocol.

The SDK's orchestrator handle takes a context JSON (history + input) and answers with the
cumulative list of actions the orchestrator has asked for. This module keeps the history the
way the Durable extension does, assigns task ids exactly as the SDK does (ids go to actions
in the depth-first order they appear; retries take ids when their failure or timer event is
processed), runs retries as the runtime does (a timer between attempts), and reports what
the host must do next: activities and sub-orchestrations to run, timers to fire.

Facts this relies on are in ../shared/notes/durable-host-protocol.md (sections 2 and 3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
SCHEMA_VERSION = 2  # V3 replies; no timer-splitting keys are sent, so timers stay plain


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


_COMPOUND = {ActionType.WHEN_ANY, ActionType.WHEN_ALL}
_COMPLETIONS = (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED)
# Events the SDK skips during replay; leaving them out of its context halves its work.
_BOOKKEEPING = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_CREATED,
    EventType.ORCHESTRATOR_COMPLETED,
}
_SUPPORTED = {
    ActionType.CALL_ACTIVITY,
    ActionType.CALL_ACTIVITY_WITH_RETRY,
    ActionType.CALL_SUB_ORCHESTRATOR,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
    ActionType.CONTINUE_AS_NEW,
    ActionType.CREATE_TIMER,
    ActionType.WAIT_FOR_EXTERNAL_EVENT,
}


def timestamp(moment: datetime) -> str:
    """UTC with microseconds and a `Z`: the form the SDK parses as aware UTC, precise enough
    that a timer's firing time compares equal to the time it was asked for."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def _event(kind: EventType, now: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": timestamp(now),
        **fields,
    }


# Events the host feeds in. Each returns a history event dict.
def task_completed(task_id: int, result_json: str, now: datetime) -> dict[str, Any]:
    return _event(EventType.TASK_COMPLETED, now, TaskScheduledId=task_id, Result=result_json)


def task_failed(task_id: int, reason: str, details: str, now: datetime) -> dict[str, Any]:
    return _event(
        EventType.TASK_FAILED, now, TaskScheduledId=task_id, Reason=reason, Details=details
    )


def sub_orchestration_completed(task_id: int, result_json: str, now: datetime) -> dict[str, Any]:
    return _event(
        EventType.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=task_id, Result=result_json
    )


def sub_orchestration_failed(
    task_id: int, reason: str, details: str, now: datetime
) -> dict[str, Any]:
    return _event(
        EventType.SUB_ORCHESTRATION_FAILED,
        now,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
    )


def timer_fired(timer_id: int, fire_at: datetime, now: datetime) -> dict[str, Any]:
    return _event(EventType.TIMER_FIRED, now, TimerId=timer_id, FireAt=timestamp(fire_at))


def event_raised(name: str, input_json: str | None, now: datetime) -> dict[str, Any]:
    return _event(EventType.EVENT_RAISED, now, Name=name, Input=input_json)


@dataclass
class RetryPolicy:
    first_interval_ms: int
    max_attempts: int

    @classmethod
    def from_action(cls, options: dict[str, Any]) -> RetryPolicy:
        return cls(
            first_interval_ms=int(options["firstRetryIntervalInMilliseconds"]),
            max_attempts=int(options["maxNumberOfAttempts"]),
        )


@dataclass
class ActivityCall:
    task_id: int
    name: str
    input: str
    attempt: int = 1


@dataclass
class SubOrchestrationCall:
    task_id: int
    name: str
    input: str
    instance_id: str | None
    attempt: int = 1


@dataclass
class TimerCall:
    timer_id: int
    fire_at: datetime
    retry_of: int | None = None  # the retried task's first id, for retry back-off timers


@dataclass
class _Retry:
    """A call with retry options, keyed by its first id; every later attempt and every
    back-off timer takes a fresh id."""

    kind: str  # "activity" or "sub_orchestration"
    name: str
    input: str
    instance_id: str | None
    policy: RetryPolicy
    attempt: int
    current_id: int
    timer_id: int | None = None


@dataclass
class Episode:
    """What one run of the orchestrator function asked the host to do."""

    activities: list[ActivityCall] = field(default_factory=list)
    sub_orchestrations: list[SubOrchestrationCall] = field(default_factory=list)
    timers: list[TimerCall] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    done: bool = False
    output: Any = None
    error: str | None = None
    continue_as_new: str | None = None  # the next generation's input (JSON text)
    custom_status: Any = None

    @property
    def failed(self) -> bool:
        return self.error is not None


class UnsupportedAction(Exception):
    pass


Handle = Callable[[str], str]


@dataclass
class ReplayState:
    """Everything needed to resume driving an instance, as plain JSON-able data."""

    instance_id: str
    name: str
    input: str | None
    parent_instance_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0
    leaf_ids: list[int | None] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    retries: dict[str, dict[str, Any]] = field(default_factory=dict)


class OrchestrationReplay:
    """One instance's history and the bookkeeping to drive its orchestrator function."""

    def __init__(self, handle: Handle, state: ReplayState) -> None:
        self._handle = handle
        self.state = state
        self._retries: dict[int, _Retry] = {
            int(key): _Retry(**{**value, "policy": RetryPolicy(**value["policy"])})
            for key, value in state.retries.items()
        }

    @classmethod
    def new(
        cls,
        handle: Handle,
        instance_id: str,
        name: str,
        input_json: str | None,
        parent_instance_id: str | None = None,
    ) -> OrchestrationReplay:
        return cls(handle, ReplayState(instance_id, name, input_json, parent_instance_id))

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.state.history

    def start(self, now: datetime) -> Episode:
        if self.state.history:
            raise RuntimeError(f"{self.state.instance_id} has already started")
        started = _event(
            EventType.EXECUTION_STARTED,
            now,
            Name=self.state.name,
            Version="",
            Input=self.state.input,
            ParentInstanceId=self.state.parent_instance_id,
        )
        return self._episode([started], now)

    def deliver(self, events: list[dict[str, Any]], now: datetime) -> list[Episode]:
        """Add new events and replay. Events whose processing allocates retry ids get an
        episode of their own, because with several events in one episode the order in which
        the SDK hands out ids cannot be read from its reply."""
        episodes: list[Episode] = []
        batch: list[dict[str, Any]] = []
        for event in events:
            if self._retry_for(event) is None:
                batch.append(event)
                continue
            if batch:
                episodes.append(self._episode(batch, now))
                batch = []
            episodes.append(self._episode([event], now))
        if batch:
            episodes.append(self._episode(batch, now))
        return episodes

    def replay_again(self, now: datetime) -> Episode:
        """An episode with no new event: the orchestrator replays its history and asks again
        for any work the history does not record (an episode whose commit was lost)."""
        return self._episode([], now)

    # -- internals ---------------------------------------------------------------------

    def _forget_retry(self, task_id: int) -> None:
        """A call that succeeded needs no retry state: kept, it would grow every commit."""
        for first_id, retry in self._retries.items():
            if retry.current_id == task_id:
                del self._retries[first_id]
                return

    def _retry_for(self, event: dict[str, Any]) -> _Retry | None:
        kind = event["EventType"]
        for retry in self._retries.values():
            if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
                if retry.current_id == event["TaskScheduledId"]:
                    return retry
            elif kind == EventType.TIMER_FIRED and retry.timer_id == event["TimerId"]:
                return retry
        return None

    def _allocate(self) -> int:
        task_id = self.state.next_id
        self.state.next_id += 1
        return task_id

    def _episode(self, events: list[dict[str, Any]], now: datetime) -> Episode:
        history = self.state.history
        history.append(_event(EventType.ORCHESTRATOR_STARTED, now))
        history.extend(events)
        episode = Episode()
        for event in events:
            self._advance_retry(event, now, episode)

        reply = self._run(now, episode)
        if reply is not None:
            self._read_actions(reply.get("actions") or [[]], now, episode)
            episode.custom_status = reply.get("customStatus")
            if reply.get("isDone"):
                episode.done = True
                if episode.continue_as_new is None:
                    episode.output = reply.get("output")
        history.append(_event(EventType.ORCHESTRATOR_COMPLETED, now))
        return episode

    def bookkeeping(self) -> dict[str, Any]:
        """What to persist besides the history to resume with `OrchestrationReplay(handle,
        ReplayState(..., history=history, **bookkeeping))`."""
        self.state.retries = {str(key): asdict(retry) for key, retry in self._retries.items()}
        return {
            "next_id": self.state.next_id,
            "leaf_ids": self.state.leaf_ids,
            "cancelled": self.state.cancelled,
            "retries": self.state.retries,
        }

    def _advance_retry(self, event: dict[str, Any], now: datetime, episode: Episode) -> None:
        if event["EventType"] in _COMPLETIONS:
            self._forget_retry(event["TaskScheduledId"])
            return
        retry = self._retry_for(event)
        if retry is None:
            return
        first_id = next(key for key, value in self._retries.items() if value is retry)
        if event["EventType"] == EventType.TIMER_FIRED:
            retry.timer_id = None
            if retry.attempt >= retry.policy.max_attempts:
                del self._retries[first_id]
                return  # the SDK now surfaces the last failure
            retry.attempt += 1
            retry.current_id = self._allocate()
            if retry.kind == "activity":
                call = ActivityCall(retry.current_id, retry.name, retry.input, retry.attempt)
                episode.activities.append(call)
                self._scheduled(
                    EventType.TASK_SCHEDULED, call.task_id, now, Name=call.name, Input=call.input
                )
            else:
                sub = SubOrchestrationCall(
                    retry.current_id, retry.name, retry.input, retry.instance_id, retry.attempt
                )
                episode.sub_orchestrations.append(sub)
                self._scheduled(
                    EventType.SUB_ORCHESTRATION_CREATED,
                    sub.task_id,
                    now,
                    Name=sub.name,
                    Input=sub.input,
                )
            return
        # A failed attempt: the SDK allocates a back-off timer after every failure, the last
        # one included (it reports the failure only when that timer fires).
        retry.timer_id = self._allocate()
        delay = timedelta(milliseconds=retry.policy.first_interval_ms)
        timer = TimerCall(retry.timer_id, now + delay, retry_of=first_id)
        if retry.attempt >= retry.policy.max_attempts:
            timer.fire_at = now
        episode.timers.append(timer)
        self._scheduled(
            EventType.TIMER_CREATED, timer.timer_id, now, FireAt=timestamp(timer.fire_at)
        )

    def _scheduled(self, kind: EventType, event_id: int, now: datetime, **fields: Any) -> None:
        self.state.history.append(_event(kind, now, event_id, **fields))

    def _context(self) -> str:
        return json.dumps(
            {
                "history": [e for e in self.state.history if e["EventType"] not in _BOOKKEEPING],
                "instanceId": self.state.instance_id,
                "isReplaying": False,
                "parentInstanceId": self.state.parent_instance_id,
                "input": self.state.input,
                "upperSchemaVersion": SCHEMA_VERSION,
            }
        )

    def _run(self, now: datetime, episode: Episode) -> dict[str, Any] | None:
        try:
            return json.loads(self._handle(self._context()))
        except Exception as exc:
            message = str(exc)
            if OUT_OF_PROC_MARKER in message:
                text, payload = message.split(OUT_OF_PROC_MARKER, 1)
                state = json.loads(payload)
                self._read_actions(state.get("actions") or [[]], now, episode)
                episode.custom_status = state.get("customStatus")
                episode.error = state.get("error") or text or type(exc).__name__
            else:
                episode.error = message or type(exc).__name__
            episode.done = True
            return None

    def _read_actions(
        self, actions: list[list[dict[str, Any]]], now: datetime, episode: Episode
    ) -> None:
        leaves = [leaf for group in actions for action in group for leaf in _flatten(action)]
        known = len(self.state.leaf_ids)
        for position, leaf in enumerate(leaves):
            kind = ActionType(leaf["actionType"])
            if position < known:
                task_id = self.state.leaf_ids[position]
                if (
                    kind == ActionType.CREATE_TIMER
                    and leaf.get("isCanceled")
                    and task_id is not None
                ) and task_id not in self.state.cancelled:
                    self.state.cancelled.append(task_id)
                    episode.cancelled_timers.append(task_id)
                continue
            if kind not in _SUPPORTED:
                raise UnsupportedAction(f"the local host does not support action {kind.name}")
            if kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
                self.state.leaf_ids.append(None)
                episode.waiting_for.append(leaf["externalEventName"])
                continue
            task_id = self._allocate()
            self.state.leaf_ids.append(task_id)
            self._schedule_leaf(kind, leaf, task_id, now, episode)

    def _schedule_leaf(
        self, kind: ActionType, leaf: dict[str, Any], task_id: int, now: datetime, episode: Episode
    ) -> None:
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            call = ActivityCall(task_id, leaf["functionName"], leaf.get("input") or "null")
            episode.activities.append(call)
            self._scheduled(
                EventType.TASK_SCHEDULED, task_id, now, Name=call.name, Input=call.input
            )
            if kind == ActionType.CALL_ACTIVITY_WITH_RETRY:
                self._retries[task_id] = _Retry(
                    "activity",
                    call.name,
                    call.input,
                    None,
                    RetryPolicy.from_action(leaf["retryOptions"]),
                    1,
                    task_id,
                )
        elif kind in (
            ActionType.CALL_SUB_ORCHESTRATOR,
            ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
        ):
            sub = SubOrchestrationCall(
                task_id, leaf["functionName"], leaf.get("input") or "null", leaf.get("instanceId")
            )
            episode.sub_orchestrations.append(sub)
            self._scheduled(
                EventType.SUB_ORCHESTRATION_CREATED,
                task_id,
                now,
                Name=sub.name,
                Input=sub.input,
                InstanceId=sub.instance_id,
            )
            if kind == ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
                self._retries[task_id] = _Retry(
                    "sub_orchestration",
                    sub.name,
                    sub.input,
                    sub.instance_id,
                    RetryPolicy.from_action(leaf["retryOptions"]),
                    1,
                    task_id,
                )
        elif kind == ActionType.CREATE_TIMER:
            timer = TimerCall(task_id, parse_timestamp(leaf["fireAt"]))
            episode.timers.append(timer)
            self._scheduled(EventType.TIMER_CREATED, task_id, now, FireAt=leaf["fireAt"])
            if leaf.get("isCanceled"):
                self.state.cancelled.append(task_id)
                episode.cancelled_timers.append(task_id)
        elif kind == ActionType.CONTINUE_AS_NEW:
            episode.continue_as_new = leaf.get("input") or "null"


def _flatten(action: dict[str, Any]) -> list[dict[str, Any]]:
    if action["actionType"] in _COMPOUND:
        return [leaf for child in action["compoundActions"] for leaf in _flatten(child)]
    return [action]
