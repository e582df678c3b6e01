"""Durable state of the local host in Table Storage (Azurite locally).

One table per task hub, one partition per orchestration instance:
- RowKey ``instance``: the instance (status, input, output, custom status, replay bookkeeping);
- RowKey ``h-<execution>-<seq>``: its history events, current execution only visible;
- RowKey ``m-<time>-<rand>``: its inbox, messages not yet applied (event raised, activity
  result, terminate, ...).

Applying an episode is one entity-group transaction: the instance row (ETag-guarded), the new
history rows and the deletion of the inbox rows it consumed. So a crash at any moment leaves
either the old state with the messages still waiting, or the new state without them.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from devhost.replay import ReplayState

INSTANCE_ROW = "instance"
MAX_OPERATIONS = 100
CHUNK = 30_000  # characters per string property (limit: 64 KiB of UTF-16)
MAX_CHUNKS = 30  # ~900 K characters: under the 1 MiB entity limit


def history_key(execution: int, seq: int) -> str:
    return f"h-{execution:06d}-{seq:08d}"


def new_message_key() -> str:
    return f"m-{time.time_ns():020d}-{os.urandom(4).hex()}"


def _pack(prefix: str, text: str | None, row: dict[str, Any]) -> None:
    if text is None:
        return
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(
            f"{prefix} is {len(text)} characters; the local host keeps at most {CHUNK * MAX_CHUNKS}"
        )
    row[f"{prefix}_n"] = len(chunks)
    for index, chunk in enumerate(chunks):
        row[f"{prefix}{index}"] = chunk


def _unpack(prefix: str, row: dict[str, Any]) -> str | None:
    count = row.get(f"{prefix}_n")
    if count is None:
        return None
    return "".join(row[f"{prefix}{index}"] for index in range(count))


@dataclass
class Instance:
    instance_id: str
    name: str
    status: str  # Pending, Running, Completed, Failed, Terminated, Suspended
    input: str | None
    created: datetime
    updated: datetime
    execution: int = 0
    history_count: int = 0
    output: str | None = None
    custom_status: str | None = None
    parent_instance_id: str | None = None
    parent_task_id: int | None = None
    replay: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None

    TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})

    @property
    def terminal(self) -> bool:
        return self.status in self.TERMINAL

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "PartitionKey": self.instance_id,
            "RowKey": INSTANCE_ROW,
            "name": self.name,
            "status": self.status,
            "created": self.created,
            "updated": self.updated,
            "execution": self.execution,
            "history_count": self.history_count,
        }
        if self.parent_instance_id is not None:
            row["parent_instance_id"] = self.parent_instance_id
            row["parent_task_id"] = self.parent_task_id
        _pack("input", self.input, row)
        _pack("output", self.output, row)
        _pack("custom", self.custom_status, row)
        _pack("replay", json.dumps(self.replay, separators=(",", ":")), row)
        return row

    @classmethod
    def from_row(cls, row: Any) -> Instance:
        return cls(
            instance_id=row["PartitionKey"],
            name=row["name"],
            status=row["status"],
            input=_unpack("input", row),
            created=row["created"],
            updated=row["updated"],
            execution=row["execution"],
            history_count=row["history_count"],
            output=_unpack("output", row),
            custom_status=_unpack("custom", row),
            parent_instance_id=row.get("parent_instance_id"),
            parent_task_id=row.get("parent_task_id"),
            replay=json.loads(_unpack("replay", row) or "{}"),
            etag=row.metadata.get("etag"),
        )

    def replay_state(self, history: list[dict[str, Any]]) -> ReplayState:
        """`replay` holds the driver's bookkeeping; the history lives in its own rows."""
        return ReplayState(
            instance_id=self.instance_id,
            name=self.name,
            input=self.input,
            parent_instance_id=self.parent_instance_id,
            history=history,
            next_id=self.replay.get("next_id", 0),
            leaf_ids=self.replay.get("leaf_ids", []),
            cancelled=self.replay.get("cancelled", []),
            retries=self.replay.get("retries", {}),
        )


@dataclass
class Message:
    key: str | None  # None: kept in memory only (a timer firing, re-derived after a crash)
    kind: str  # event, task_completed, task_failed, sub_completed, sub_failed, terminate,
    # suspend, resume
    body: dict[str, Any]

    def to_row(self, instance_id: str) -> dict[str, Any]:
        assert self.key is not None
        row = {"PartitionKey": instance_id, "RowKey": self.key, "kind": self.kind}
        _pack("body", json.dumps(self.body, separators=(",", ":")), row)
        return row

    @classmethod
    def from_row(cls, row: Any) -> Message:
        return cls(
            key=row["RowKey"], kind=row["kind"], body=json.loads(_unpack("body", row) or "{}")
        )


class DurableStore:
    def __init__(self, connection_string: str, task_hub: str) -> None:
        self.service = TableServiceClient.from_connection_string(connection_string)
        self.table_name = f"{task_hub}Instances"
        self.table: TableClient = self.service.get_table_client(self.table_name)
        self.round_trips = 0  # writes on the hot path (bench/engine.py reports them per step)

    async def open(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            await self.service.create_table(self.table_name)

    async def close(self) -> None:
        await self.table.close()
        await self.service.close()

    # -- instances -------------------------------------------------------------------------

    async def get(self, instance_id: str) -> Instance | None:
        try:
            return Instance.from_row(await self.table.get_entity(instance_id, INSTANCE_ROW))
        except ResourceNotFoundError:
            return None

    async def create(self, instance: Instance) -> Instance:
        """Create the instance row; raises ResourceExistsError if the id is taken."""
        meta = await self.table.create_entity(instance.to_row())
        instance.etag = meta.get("etag")
        return instance

    async def query(self, filter_text: str = "RowKey eq @row", **parameters: Any) -> list[Instance]:
        rows = self.table.query_entities(
            filter_text, parameters={"row": INSTANCE_ROW, **parameters}
        )
        return [Instance.from_row(row) async for row in rows]

    async def history(self, instance: Instance) -> list[dict[str, Any]]:
        rows = self.table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end",
            parameters={
                "pk": instance.instance_id,
                "first": history_key(instance.execution, 0),
                "end": history_key(instance.execution, instance.history_count),
            },
        )
        return [json.loads(_unpack("e", row) or "{}") async for row in rows]

    async def inbox(self, instance_id: str) -> list[Message]:
        rows = self.table.query_entities(
            "PartitionKey eq @pk and RowKey ge 'm-' and RowKey lt 'n'",
            parameters={"pk": instance_id},
        )
        return [Message.from_row(row) async for row in rows]

    async def post(self, instance_id: str, message: Message) -> None:
        await self.table.upsert_entity(message.to_row(instance_id), mode=UpdateMode.REPLACE)
        self.round_trips += 1

    async def commit(
        self,
        instance: Instance,
        new_events: list[dict[str, Any]],
        consumed: list[Message],
        *,
        first_seq: int,
    ) -> None:
        """Apply an episode. History rows that do not fit go first, in their own transactions
        (invisible until `history_count` moves past them); the final transaction carries the
        rest, the ETag-guarded instance row and the deletion of the consumed messages, so the
        commit is atomic. Callers consume few enough messages for that to fit."""
        history_rows = []
        for offset, event in enumerate(new_events):
            row: dict[str, Any] = {
                "PartitionKey": instance.instance_id,
                "RowKey": history_key(instance.execution, first_seq + offset),
            }
            _pack("e", json.dumps(event, separators=(",", ":")), row)
            history_rows.append(("upsert", row, {"mode": UpdateMode.REPLACE}))
        if instance.etag:
            options = {
                "mode": UpdateMode.REPLACE,
                "etag": instance.etag,
                "match_condition": MatchConditions.IfNotModified,
            }
            instance_op = ("update", instance.to_row(), options)
        else:
            instance_op = ("upsert", instance.to_row(), {"mode": UpdateMode.REPLACE})
        final = [instance_op] + [
            ("delete", {"PartitionKey": instance.instance_id, "RowKey": message.key})
            for message in consumed
            if message.key
        ]
        if len(final) > MAX_OPERATIONS:
            raise ValueError("an episode consumed more messages than one transaction holds")
        split = max(0, len(history_rows) - (MAX_OPERATIONS - len(final)))
        for start in range(0, split, MAX_OPERATIONS):
            await self.table.submit_transaction(
                history_rows[start : min(split, start + MAX_OPERATIONS)]
            )
        late = history_rows[split:]
        result = await self.table.submit_transaction([*late, *final])
        instance.etag = result[len(late)].get("etag")
        self.round_trips += 1 + -(-split // MAX_OPERATIONS)

    async def purge(self, instance_id: str) -> int:
        rows = [
            row["RowKey"]
            async for row in self.table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": instance_id}, select=["RowKey"]
            )
        ]
        await self._delete(instance_id, rows)
        return 1 if INSTANCE_ROW in rows else 0

    async def _delete(self, instance_id: str, keys: list[str]) -> None:
        for start in range(0, len(keys), MAX_OPERATIONS):
            chunk = keys[start : start + MAX_OPERATIONS]
            await self.table.submit_transaction(
                [("delete", {"PartitionKey": instance_id, "RowKey": key}) for key in chunk]
            )

    async def delete_old_history(self, instance_id: str, execution: int) -> None:
        """After continue-as-new: drop history rows of earlier executions."""
        rows = [
            row["RowKey"]
            async for row in self.table.query_entities(
                "PartitionKey eq @pk and RowKey ge 'h-' and RowKey lt @current",
                parameters={"pk": instance_id, "current": history_key(execution, 0)},
                select=["RowKey"],
            )
        ]
        await self._delete(instance_id, rows)


def utc_now() -> datetime:
    return datetime.now(UTC)
