"""The deployments table: one entity per deployment (PartitionKey = deployment id, RowKey =
"state"), updated only with ETag preconditions, and listed newest first through its index
(haymaker.store.deployment_index)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from pydantic import Field

from haymaker import keys
from haymaker.approvals import Decision
from haymaker.errors import DeploymentExistsError, DeploymentNotFoundError, PayloadTooLargeError
from haymaker.events import derive
from haymaker.events.model import OutboxEvent
from haymaker.models import (
    TERMINAL_STATUSES,
    DeploymentState,
    DeploymentStatus,
    LogEntry,
    LogLevel,
    Model,
    StepMark,
)
from haymaker.store import outbox
from haymaker.store.deployment_index import DeploymentIndex, index_key
from haymaker.store.tables import Page, Tables, first_page
from haymaker.transitions import check_transition

ROW_KEY = "state"
TABLE = "deployments"
# Table Storage caps a string property at 64 KiB, i.e. 32K UTF-16 code units.
MAX_PROPERTY_CHARS = 32_000
_JSON_PROPERTIES = (
    "config",
    "metadata",
    "tags",
    "progress",
    "budget",
    "usage",
    "awaiting_approval",
)
_TIME_PROPERTIES = ("created_at", "started_at", "stopped_at", "completed_at", "deadline")
# An index row whose entity is missing may belong to a create still under way: it is only
# dropped once it is older than this.
ORPHAN_ROW_AGE = timedelta(minutes=10)
# Point reads in flight at once while a listing page is filled.
LIST_READS = 32


class Progress(Model):
    """Where the orchestration is, kept beside the state so any step can be resumed or
    recognised as already done."""

    phase_index: int = 0
    cursor: dict[str, Any] = Field(default_factory=dict)
    step: int = 0
    log_count: int = 0
    wake_event: str | None = None
    resume_at: datetime | None = None
    # Resource records when the current cleanup began: its report counts from this, exactly,
    # even when a batch ran twice (a crash between deleting and recording).
    cleanup_resources: int | None = None
    # Decisions the next step sees (ctx.approval); dropped once a step has run with them.
    decisions: dict[str, Decision] = Field(default_factory=dict)
    budget_asks: int = 0  # budget approvals asked so far (their keys: budget-1, budget-2, ...)
    events: int = 0  # events written to the outbox so far: the next one's sequence number


@dataclass
class DeploymentRecord:
    state: DeploymentState
    progress: Progress = field(default_factory=Progress)
    etag: str | None = None
    new_logs: list[LogEntry] = field(default_factory=list)
    new_steps: list[StepMark] = field(default_factory=list)  # written with the logs
    # The status as stored: the index row is rewritten only when a write changes it.
    stored_status: DeploymentStatus | None = None
    # What the change did, for its events (haymaker.events.derive): the transitions made,
    # and the time of the latest one or log line.
    transitions: list[tuple[DeploymentStatus, DeploymentStatus]] = field(default_factory=list)
    touched_at: datetime | None = None

    @property
    def deployment_id(self) -> str:
        return self.state.deployment_id

    def move_to(self, target: DeploymentStatus, now: datetime) -> None:
        """Change the actual status through the transition table, stamping its time."""
        check_transition(self.state.status, target)
        self.transitions.append((self.state.status, target))
        self.touched_at = now
        self.state.status = target
        if target == DeploymentStatus.STOPPED:
            self.state.stopped_at = now
        elif target in TERMINAL_STATUSES:
            self.state.completed_at = now

    def log(self, message: str, now: datetime, level: LogLevel = "info") -> None:
        """Queue a log line; it is written, with the next dense line number, before the entity."""
        line = self.progress.log_count + len(self.new_logs)
        self.touched_at = now
        self.new_logs.append(LogEntry(line=line, timestamp=now, level=level, message=message))

    def fingerprint(self) -> tuple[dict[str, Any], dict[str, Any], int]:
        return (self.state.model_dump(), self.progress.model_dump(), len(self.new_logs))


def to_entity(record: DeploymentRecord) -> dict[str, Any]:
    state = record.state.model_dump(mode="python")
    entity: dict[str, Any] = {
        "PartitionKey": record.deployment_id,
        "RowKey": ROW_KEY,
        "workload_name": state["workload_name"],
        "status": state["status"].value,
        "desired_status": state["desired_status"].value,
        "phase": state["phase"],
        "error": state["error"],
        "duration_hours": state["duration_hours"],
        "schedule_id": state["schedule_id"],
        "traceparent": state["traceparent"],
    }
    for name in _TIME_PROPERTIES:
        entity[name] = state[name]
    progress = record.progress.model_copy(
        update={"log_count": record.progress.log_count + len(record.new_logs)}
    )
    shown = record.state.model_dump(mode="json", include={"budget", "usage", "awaiting_approval"})
    blobs = {
        "config": state["config"],
        "metadata": state["metadata"],
        "tags": state["tags"],
        "progress": progress.model_dump(mode="json"),
        **{name: value for name, value in shown.items() if value is not None},
    }
    for name, value in blobs.items():
        text = json.dumps(value, separators=(",", ":"), default=str)
        if len(text) > MAX_PROPERTY_CHARS:
            raise PayloadTooLargeError(
                f"deployment {name} is {len(text)} characters; the limit is {MAX_PROPERTY_CHARS}"
            )
        entity[name] = text
    return {key: value for key, value in entity.items() if value is not None}


def from_entity(entity: Any) -> DeploymentRecord:
    data = {name: json.loads(entity[name]) for name in _JSON_PROPERTIES if name in entity}
    progress = Progress.model_validate(data.pop("progress", {}))
    fields = {
        "deployment_id": entity["PartitionKey"],
        "workload_name": entity["workload_name"],
        "status": entity["status"],
        "desired_status": entity["desired_status"],
        "phase": entity.get("phase") or "pending",
        "error": entity.get("error"),
        "duration_hours": entity.get("duration_hours"),
        "schedule_id": entity.get("schedule_id"),
        "traceparent": entity.get("traceparent"),
        **{name: entity.get(name) for name in _TIME_PROPERTIES},
        **data,
    }
    state = DeploymentState.model_validate(fields)
    return DeploymentRecord(
        state=state, progress=progress, etag=entity.metadata.get("etag"), stored_status=state.status
    )


def _stored(record: DeploymentRecord, meta: dict[str, Any]) -> DeploymentRecord:
    """`record` as it now is in the table."""
    record.progress.log_count += len(record.new_logs)
    record.new_logs = []
    record.new_steps = []
    record.transitions = []
    record.etag = meta.get("etag")
    record.stored_status = record.state.status
    return record


class DeploymentStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self.index = DeploymentIndex(tables)
        self._indexed = False

    async def _ensure_index(self) -> None:
        """Index the deployments created before the index existed, once per table."""
        if not await self.index.is_built():
            await self.reindex()
            await self.index.mark_built()
        self._indexed = True

    async def create(self, record: DeploymentRecord) -> DeploymentRecord:
        table = await self._tables.get(TABLE)
        await self.index.put(record.state)
        events = derive.created(record)
        rows = self._outbox_rows(record, events)
        try:
            meta = await outbox.write_with(table, ("create", to_entity(record), {}), rows)
        except ResourceExistsError:
            # The row just written points at this (losing) request's creation time.
            existing = await self.get(record.deployment_id)
            if existing.state.created_at != record.state.created_at:
                await self.index.drop(record.deployment_id, record.state.created_at)
            raise DeploymentExistsError(
                f"deployment {record.deployment_id} already exists"
            ) from None
        self._tables.outbox_written(TABLE, record.deployment_id)
        return _stored(record, meta)

    async def get(self, deployment_id: str) -> DeploymentRecord:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(deployment_id, ROW_KEY)
        except ResourceNotFoundError:
            raise DeploymentNotFoundError(f"no deployment {deployment_id}") from None
        return from_entity(entity)

    async def replace(
        self, record: DeploymentRecord, events: list[OutboxEvent] | None = None
    ) -> DeploymentRecord:
        """Write `record` if nobody wrote since it was read; raises ResourceModifiedError if so.
        A new status goes to the index row first. `events` go to the outbox in the same
        transaction; without any, the write is a plain update (the same one round trip)."""
        table = await self._tables.get(TABLE)
        if record.state.status != record.stored_status:
            await self.index.put(record.state)
        if not events:
            meta = await table.update_entity(
                to_entity(record),
                mode=UpdateMode.REPLACE,
                etag=record.etag,
                match_condition=MatchConditions.IfNotModified,
            )
            return _stored(record, meta)
        rows = self._outbox_rows(record, events)
        update = outbox.guarded_update(to_entity(record), record.etag)
        meta = await outbox.write_with(table, update, rows)
        self._tables.outbox_written(TABLE, record.deployment_id)
        return _stored(record, meta)

    @staticmethod
    def _outbox_rows(record: DeploymentRecord, events: list[OutboxEvent]) -> list[dict[str, Any]]:
        """The outbox rows of `events`, numbered on from the record's count (which moves
        past them in the same write)."""
        first = record.progress.events
        record.progress.events += len(events)
        return outbox.rows_for(record.deployment_id, record.state.created_at, first, events)

    async def delete(self, record: DeploymentRecord, now: datetime | None = None) -> None:
        """Delete the entity under its ETag, leaving the deployment.purged event in its
        partition's outbox (the dispatcher moves it to the feed and the partition empties)."""
        table = await self._tables.get(TABLE)
        rows = self._outbox_rows(record, derive.purged(record, now or datetime.now(UTC)))
        delete = outbox.guarded_delete(record.deployment_id, ROW_KEY, record.etag)
        await outbox.write_with(table, delete, rows)
        self._tables.outbox_written(TABLE, record.deployment_id)
        await self.index.drop(record.deployment_id, record.state.created_at)

    async def probe(self) -> None:
        """One cheap round trip, for health checks: a point read of a key that never exists."""
        table = await self._tables.get(TABLE)
        with contextlib.suppress(ResourceNotFoundError):
            await table.get_entity("health-probe", ROW_KEY)

    async def finished_before(
        self, cutoff: datetime, *, limit: int, continuation: str | None = None
    ) -> Page[DeploymentState]:
        """A page of the completed or failed deployments that finished before `cutoff`."""
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            # The SDK substitutes @names between spaces: "(@x" or "@x)" would not be found.
            "RowKey eq @row and ( status eq @completed or status eq @failed )"
            " and completed_at lt @cutoff",
            {"row": ROW_KEY, "completed": "completed", "failed": "failed", "cutoff": cutoff},
            lambda entity: from_entity(entity).state,
            limit=min(limit, 1000),
            continuation=continuation,
        )

    async def counts(self) -> dict[str, dict[str, int]]:
        """Deployments by status and by workload, reading two columns of each."""
        table = await self._tables.get(TABLE)
        by_status: dict[str, int] = {}
        by_workload: dict[str, int] = {}
        query = table.query_entities(
            "RowKey eq @row", parameters={"row": ROW_KEY}, select=["status", "workload_name"]
        )
        async for entity in query:
            by_status[entity["status"]] = by_status.get(entity["status"], 0) + 1
            by_workload[entity["workload_name"]] = by_workload.get(entity["workload_name"], 0) + 1
        return {"by_status": by_status, "by_workload": by_workload}

    async def list(
        self,
        *,
        workload: str | None = None,
        status: DeploymentStatus | None = None,
        schedule_id: str | None = None,
        limit: int = 50,
        continuation: str | None = None,
    ) -> Page[DeploymentState]:
        """Newest first. A page may hold fewer than `limit` items (rows whose deployment
        no longer matches are skipped) and still have a continuation."""
        if status is not None:
            status = DeploymentStatus(status)
        if not self._indexed:
            await self._ensure_index()
        rows = await self.index.page(
            workload=workload,
            status=status,
            schedule_id=schedule_id,
            limit=limit,
            continuation=continuation,
        )
        gate = asyncio.Semaphore(LIST_READS)

        async def read(row: dict[str, Any]) -> DeploymentState | None:
            async with gate:
                return await self._checked(row, status)

        states = await asyncio.gather(*(read(row) for row in rows.items))
        items = [state for state in states if state is not None]
        return Page(items=items, continuation=rows.continuation)

    async def _checked(
        self, row: dict[str, Any], status: DeploymentStatus | None
    ) -> DeploymentState | None:
        """The deployment an index row points at, if it still matches; stale rows are
        repaired (status) or dropped (no such deployment any more)."""
        try:
            state = (await self.get(row["deployment_id"])).state
        except DeploymentNotFoundError:
            # Storage's own clock, as the row's age is a fact about storage.
            if datetime.now(UTC) - row["written_at"] > ORPHAN_ROW_AGE:
                await self.index.drop_key(row["RowKey"])
            return None
        if index_key(state.deployment_id, state.created_at) != row["RowKey"]:
            await self.index.drop_key(row["RowKey"])  # a create that lost to another
            return None
        if state.status != row["status"]:
            await self.index.put(state)
        return state if status is None or state.status == status else None

    async def reindex(self) -> int:
        """Write the index row of every deployment (those created before the index existed,
        or after a lost write); returns how many. Idempotent."""
        table = await self._tables.get(TABLE)
        count = 0
        query = table.query_entities(
            "RowKey eq @row",
            parameters={"row": ROW_KEY},
            select=["PartitionKey", "workload_name", "status", "created_at", "schedule_id"],
        )
        async for entity in query:
            state = DeploymentState.model_validate(
                {
                    "deployment_id": entity["PartitionKey"],
                    "workload_name": entity["workload_name"],
                    "status": entity["status"],
                    "created_at": entity["created_at"],
                    "schedule_id": entity.get("schedule_id"),
                }
            )
            await self.index.put(state)
            count += 1
        return count
