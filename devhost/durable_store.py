"""Durable state of the local host in Table Storage (Azurite locally).

One table per task hub, one partition per orchestration instance:
- RowKey ``instance``: the instance (status, input, output, custom status, replay bookkeeping)
  and the *tail* of its history: the events not yet moved to a page;
- RowKey ``h-<execution>-<page>``: full pages of history events of the current execution;
- RowKey ``m-<seq>``: its inbox, numbered in the order they were written.

An episode commits with one conditional write of the instance row (its ETag must still hold):
the new events join the tail and `inbox_cursor` moves past the messages consumed. When the
tail is full it becomes a page in the same entity-group transaction. So a crash at any moment
leaves either the old state with its messages still waiting, or the new state, in which the
messages at or below the cursor count as consumed (their rows are deleted later).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.replay import ReplayState
from haymaker.store.transport import service_from_connection_string

INSTANCE_ROW = "instance"
MAX_OPERATIONS = 100
CHUNK = 30_000  # characters per string property (limit: 64 KiB of UTF-16)
MAX_CHUNKS = 30  # ~900 K characters: under the 1 MiB entity limit
PAGE_CHARS = 16_000  # a tail this long becomes a page (every commit rewrites the tail)
ROW_CHARS = 600_000  # at most this much JSON in one page or message row
TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


def page_key(execution: int, page: int) -> str:
    return f"h-{execution:06d}-{page:06d}"


def message_key(seq: int) -> str:
    return f"m-{seq:012d}"


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


def _unpack(prefix: str, row: Any) -> str | None:
    count = row.get(f"{prefix}_n")
    if count is None:
        return None
    return "".join(row[f"{prefix}{index}"] for index in range(count))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class Instance:
    instance_id: str
    name: str
    status: str  # Pending, Running, Completed, Failed, Terminated, Suspended
    input: str | None
    created: datetime
    updated: datetime
    execution: int = 0
    output: str | None = None
    custom_status: str | None = None
    parent_instance_id: str | None = None
    parent_task_id: int | None = None
    replay: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    tail: list[dict[str, Any]] = field(default_factory=list)
    history_count: int = 0
    inbox_cursor: int = 0
    etag: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "PartitionKey": self.instance_id,
            "RowKey": INSTANCE_ROW,
            "name": self.name,
            "status": self.status,
            "created": self.created,
            "updated": self.updated,
            "execution": self.execution,
            "pages": self.pages,
            "history_count": self.history_count,
            "inbox_cursor": self.inbox_cursor,
        }
        if self.parent_instance_id is not None:
            row["parent_instance_id"] = self.parent_instance_id
            row["parent_task_id"] = self.parent_task_id
        _pack("input", self.input, row)
        _pack("output", self.output, row)
        _pack("custom", self.custom_status, row)
        _pack("replay", _dumps(self.replay), row)
        _pack("tail", _dumps(self.tail), row)
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
            output=_unpack("output", row),
            custom_status=_unpack("custom", row),
            parent_instance_id=row.get("parent_instance_id"),
            parent_task_id=row.get("parent_task_id"),
            replay=json.loads(_unpack("replay", row) or "{}"),
            pages=row.get("pages", 0),
            tail=json.loads(_unpack("tail", row) or "[]"),
            history_count=row.get("history_count", 0),
            inbox_cursor=row.get("inbox_cursor", 0),
            etag=row.metadata.get("etag"),
        )

    def replay_state(self, history: list[dict[str, Any]]) -> ReplayState:
        """`replay` holds the driver's bookkeeping; the history lives in pages and the tail."""
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
    seq: int | None  # None: kept in memory only (a timer firing, re-derived after a crash)
    kind: str  # event, task_completed, task_failed, sub_completed, sub_failed, timer_fired,
    # terminate, suspend, resume
    body: dict[str, Any]
    # Resolved once the message is stored; an episode may read it earlier, but commits only
    # after it is stored.
    stored: Any = field(default=None, compare=False, repr=False)
    row: int | None = None  # the stored row holding it (messages stored together share one)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "body": self.body}


def _message_rows(instance_id: str, messages: list[Message]) -> list[dict[str, Any]]:
    """Messages stored together go into as few rows as their size allows."""
    rows, group, size = [], [], 0
    for message in [*messages, None]:
        text = _dumps(message.to_json()) if message is not None else ""
        if group and (message is None or size + len(text) > ROW_CHARS):
            first = group[0].seq
            for member in group:
                member.row = first
            row: dict[str, Any] = {"PartitionKey": instance_id, "RowKey": message_key(first)}
            _pack("batch", _dumps([m.to_json() for m in group]), row)
            rows.append(row)
            group, size = [], 0
        if message is not None:
            group.append(message)
            size += len(text)
    return rows


@dataclass
class CommitPlan:
    """The rows one episode writes, computed while the instance is locked so they can be
    written after it is released."""

    row: dict[str, Any]
    pages: list[dict[str, Any]]

    @classmethod
    def of(cls, instance: Instance) -> CommitPlan:
        """Snapshot `instance`; a tail grown past a page moves into page rows first."""
        pages = []
        if len(_dumps(instance.tail)) > PAGE_CHARS:
            for events in _split(instance.tail):
                page: dict[str, Any] = {
                    "PartitionKey": instance.instance_id,
                    "RowKey": page_key(instance.execution, instance.pages + len(pages)),
                }
                _pack("e", _dumps(events), page)
                pages.append(page)
            instance.pages += len(pages)
            instance.tail = []
        return cls(row=instance.to_row(), pages=pages)


class DurableStore:
    def __init__(self, connection_string: str, task_hub: str) -> None:
        self.service = service_from_connection_string(connection_string)
        self.table_name = f"{task_hub}Instances"
        self.table: TableClient = self.service.get_table_client(self.table_name)
        self.round_trips = 0  # writes on the hot path (bench/engine.py reports them per step)

    async def open(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            await self.service.create_table(self.table_name)

    async def close(self) -> None:
        await self.table.close()
        await self.service.close()

    # -- reads -----------------------------------------------------------------------------

    async def get(self, instance_id: str) -> Instance | None:
        try:
            return Instance.from_row(await self.table.get_entity(instance_id, INSTANCE_ROW))
        except ResourceNotFoundError:
            return None

    async def query(self, filter_text: str = "RowKey eq @row", **parameters: Any) -> list[Instance]:
        rows = self.table.query_entities(
            filter_text, parameters={"row": INSTANCE_ROW, **parameters}
        )
        return [Instance.from_row(row) async for row in rows]

    async def history(self, instance: Instance) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if instance.pages:
            rows = self.table.query_entities(
                "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end",
                parameters={
                    "pk": instance.instance_id,
                    "first": page_key(instance.execution, 0),
                    "end": page_key(instance.execution, instance.pages),
                },
            )
            async for row in rows:
                events.extend(json.loads(_unpack("e", row) or "[]"))
        return events + instance.tail

    async def inbox(self, instance: Instance) -> tuple[list[Message], dict[int, int]]:
        """Messages not consumed yet, in order, and every stored message row (its first and
        last message numbers)."""
        rows = self.table.query_entities(
            "PartitionKey eq @pk and RowKey ge 'm-' and RowKey lt 'n'",
            parameters={"pk": instance.instance_id},
        )
        waiting: list[Message] = []
        stored: dict[int, int] = {}
        async for row in rows:
            first = int(row["RowKey"][2:])
            batch = json.loads(_unpack("batch", row) or "[]")
            stored[first] = max((item["seq"] for item in batch), default=first)
            waiting += [
                Message(item["seq"], item["kind"], item["body"], row=first)
                for item in batch
                if item["seq"] > instance.inbox_cursor
            ]
        return waiting, stored

    # -- writes ----------------------------------------------------------------------------

    async def create(self, instance: Instance) -> Instance:
        """Create the instance row; raises ResourceExistsError if the id is taken."""
        meta = await self.table.create_entity(instance.to_row())
        instance.etag = meta.get("etag")
        return instance

    async def post(self, instance_id: str, messages: list[Message]) -> None:
        """Store messages together: usually one row, so one write."""
        self.round_trips += 1
        for row in _message_rows(instance_id, messages):
            await self.table.upsert_entity(row, mode=UpdateMode.REPLACE)

    async def commit(self, plan: CommitPlan, etag: str | None) -> str | None:
        """Write a prepared commit if `etag` still holds (ResourceModifiedError otherwise);
        returns the new ETag. Pages but the last are written first: invisible until the
        instance row's page count covers them; the last goes with the row, atomically."""
        self.round_trips += 1
        options = {
            "mode": UpdateMode.REPLACE,
            "etag": etag,
            "match_condition": MatchConditions.IfNotModified,
        }
        if not plan.pages:
            meta = await self.table.update_entity(plan.row, **options)
            return meta.get("etag")
        for page in plan.pages[:-1]:
            await self.table.upsert_entity(page, mode=UpdateMode.REPLACE)
        result = await self.table.submit_transaction(
            [
                ("upsert", plan.pages[-1], {"mode": UpdateMode.REPLACE}),
                ("update", plan.row, options),
            ]
        )
        return result[1].get("etag")

    async def delete_message_rows(self, instance_id: str, rows: list[int]) -> None:
        await self._delete(instance_id, [message_key(row) for row in rows])

    async def delete_old_history(self, instance_id: str, execution: int) -> None:
        """After continue-as-new: drop the pages of earlier executions."""
        rows = [
            row["RowKey"]
            async for row in self.table.query_entities(
                "PartitionKey eq @pk and RowKey ge 'h-' and RowKey lt @current",
                parameters={"pk": instance_id, "current": page_key(execution, 0)},
                select=["RowKey"],
            )
        ]
        await self._delete(instance_id, rows)

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


def _split(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    pages, current, size = [], [], 0
    for event in events:
        length = len(_dumps(event)) + 1
        if current and size + length > ROW_CHARS:
            pages.append(current)
            current, size = [], 0
        current.append(event)
        size += length
    return [*pages, current] if current else pages


def utc_now() -> datetime:
    return datetime.now(UTC)
