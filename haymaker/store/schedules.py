"""Schedules in Table Storage, with an index of next slots so a tick reads only due ones.

- `<prefix>schedules`: one entity per schedule (PartitionKey = schedule id, RowKey
  "schedule"), updated under its ETag like deployments.
- `<prefix>scheduleindex`: one row per enabled schedule (PartitionKey "next", RowKey
  `<next slot>|<schedule id>`), so "what is due" is one range query.

The schedule entity is the truth and the index only a pointer to it. A new index row is
written before the entity and the old one deleted after, so an interruption leaves an extra
row, never a missing one; a tick checks each row against the entity and drops stale ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from haymaker.errors import ConflictError, ScheduleNotFoundError
from haymaker.events import derive
from haymaker.keys import schedule_id
from haymaker.schedules.models import ScheduleState
from haymaker.store import outbox
from haymaker.store.optimistic import read_modify_write
from haymaker.store.tables import Page, Tables, first_page

TABLE = "schedules"
INDEX_TABLE = "scheduleindex"
ROW_KEY = "schedule"
INDEX_PARTITION = "next"
_JSON = ("workload_config", "tags", "active_runs", "recent_runs", "budget")
_TIMES = ("created_at", "updated_at", "last_slot", "next_slot")

T = TypeVar("T")


def index_key(slot: datetime, schedule: str) -> str:
    return f"{slot.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}|{schedule}"


@dataclass
class ScheduleRecord:
    state: ScheduleState
    etag: str | None = None
    events: int = 0  # events written to its outbox so far (schedule.fired)

    def fingerprint(self) -> dict[str, Any]:
        return self.state.model_dump()


def _to_entity(state: ScheduleState, events: int = 0) -> dict[str, Any]:
    data = state.model_dump(mode="python")
    entity: dict[str, Any] = {"PartitionKey": state.schedule_id, "RowKey": ROW_KEY}
    if events:
        entity["events"] = events
    for name, value in data.items():
        if name == "schedule_id" or value is None:
            continue
        if name in _JSON:
            entity[name] = json.dumps(state.model_dump(mode="json")[name], separators=(",", ":"))
        elif name == "catch_up":
            entity[name] = value.value
        else:
            entity[name] = value
    return entity


def _from_entity(entity: Any) -> ScheduleRecord:
    data = {name: entity[name] for name in entity if name not in ("PartitionKey", "RowKey")}
    events = int(data.pop("events", 0))
    for name in _JSON:
        if name in data:
            data[name] = json.loads(data[name])
    data["schedule_id"] = entity["PartitionKey"]
    return ScheduleRecord(ScheduleState.model_validate(data), entity.metadata.get("etag"), events)


class ScheduleStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def create(self, state: ScheduleState) -> ScheduleRecord:
        table = await self._tables.get(TABLE)
        await self._index(state)
        try:
            meta = await table.create_entity(_to_entity(state))
        except ResourceExistsError:
            raise ConflictError(f"schedule {state.schedule_id} already exists") from None
        return ScheduleRecord(state, meta.get("etag"))

    async def get(self, schedule: str) -> ScheduleRecord:
        schedule_id(schedule)
        table = await self._tables.get(TABLE)
        try:
            return _from_entity(await table.get_entity(schedule, ROW_KEY))
        except ResourceNotFoundError:
            raise ScheduleNotFoundError(f"no schedule {schedule}") from None

    async def update(
        self, schedule: str, change: Callable[[ScheduleRecord], T]
    ) -> tuple[ScheduleRecord, T]:
        """Read-modify-write under the ETag, keeping the index in step with next_slot."""
        table = await self._tables.get(TABLE)
        before: dict[str, ScheduleState] = {}

        async def read() -> ScheduleRecord:
            record = await self.get(schedule)
            before["state"] = record.state.model_copy(deep=True)
            return record

        async def write(record: ScheduleRecord) -> None:
            await self._index(record.state)
            old = before["state"]
            # Runs recorded by this change are schedule.fired events, in its transaction.
            events = derive.schedule_fired(old, record.state)
            if events:
                rows = outbox.rows_for(schedule, old.created_at, record.events, events)
                update = outbox.guarded_update(
                    _to_entity(record.state, record.events + len(events)), record.etag
                )
                meta = await outbox.write_with(table, update, rows)
                record.events += len(events)
                self._tables.outbox_written(TABLE, schedule)
            else:
                meta = await table.update_entity(
                    _to_entity(record.state, record.events),
                    mode=UpdateMode.REPLACE,
                    etag=record.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            record.etag = meta.get("etag")
            if _indexed(old) and index_key(old.next_slot, old.schedule_id) != _current_key(
                record.state
            ):
                await self.drop_index(old.next_slot, old.schedule_id)

        return await read_modify_write(
            f"schedule {schedule}", read, change, write, ScheduleRecord.fingerprint
        )

    async def delete(self, schedule: str) -> ScheduleRecord:
        record = await self.get(schedule)
        table = await self._tables.get(TABLE)
        await table.delete_entity(schedule, ROW_KEY)
        if _indexed(record.state):
            await self.drop_index(record.state.next_slot, schedule)
        return record

    async def list(
        self,
        *,
        workload: str | None = None,
        enabled: bool | None = None,
        limit: int = 50,
        continuation: str | None = None,
    ) -> Page[ScheduleState]:
        clauses, parameters = ["RowKey eq @row"], {"row": ROW_KEY}
        if workload is not None:
            clauses.append("workload_name eq @workload")
            parameters["workload"] = workload
        if enabled is not None:
            clauses.append("enabled eq @enabled")
            parameters["enabled"] = enabled
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            " and ".join(clauses),
            parameters,
            lambda entity: _from_entity(entity).state,
            limit=limit,
            continuation=continuation,
        )

    async def counts(self) -> dict[str, int]:
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "RowKey eq @row", parameters={"row": ROW_KEY}, select=["enabled"]
        )
        flags = [bool(entity.get("enabled")) async for entity in query]
        return {"total": len(flags), "enabled": sum(flags)}

    async def due(self, now: datetime) -> list[tuple[datetime, str]]:
        """(slot, schedule id) of every index row at or before `now`: one range query."""
        index = await self._tables.get(INDEX_TABLE)
        rows = index.query_entities(
            "PartitionKey eq @pk and RowKey le @until",
            parameters={
                "pk": INDEX_PARTITION,
                "until": f"{now.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}|~",
            },
            select=["RowKey", "slot", "schedule_id"],
        )
        return [(row["slot"], row["schedule_id"]) async for row in rows]

    async def drop_index(self, slot: datetime, schedule: str) -> None:
        index = await self._tables.get(INDEX_TABLE)
        await index.delete_entity(INDEX_PARTITION, index_key(slot, schedule))

    async def _index(self, state: ScheduleState) -> None:
        if not _indexed(state):
            return
        index = await self._tables.get(INDEX_TABLE)
        await index.upsert_entity(
            {
                "PartitionKey": INDEX_PARTITION,
                "RowKey": index_key(state.next_slot, state.schedule_id),
                "slot": state.next_slot,
                "schedule_id": state.schedule_id,
            },
            mode=UpdateMode.REPLACE,
        )


def _indexed(state: ScheduleState) -> bool:
    return state.enabled and state.next_slot is not None


def _current_key(state: ScheduleState) -> str | None:
    return index_key(state.next_slot, state.schedule_id) if _indexed(state) else None
