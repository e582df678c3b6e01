"""The event feed: `<prefix>events`, every published event in one order, for
`GET /api/events?after=CURSOR` and for the sinks, each of which reads it at its own cursor.

One partition ("feed") holds:
- `e-<seq>`: the events, seq 1, 2, 3, ... in the order they were moved from the outboxes;
- `head`: the last seq handed out;
- `m-<table>-<partition>`: per outbox, the key of the last row moved from it.

A move is one transaction: the head advanced under its ETag, the outbox's marker advanced
under its ETag, and the events inserted. So seqs are gapless and strictly follow commit
order (a reader at cursor N never misses an event committed later with a smaller seq), and a
row moved twice (two dispatchers, or a crash before the outbox row was deleted) is skipped
by the marker: the feed holds each event once.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableTransactionError, UpdateMode

from haymaker.errors import ConcurrencyError
from haymaker.store.outbox import OutboxRow
from haymaker.store.tables import MAX_BATCH, Tables, delete_rows

TABLE = "events"
PARTITION = "feed"
HEAD = "head"
SEQ_DIGITS = 15
MAX_ATTEMPTS = 30
# The head and the marker take two of a transaction's operations.
EVENTS_PER_MOVE = MAX_BATCH - 2


def event_key(seq: int) -> str:
    return f"e-{seq:0{SEQ_DIGITS}d}"


def marker_key(table: str, partition: str) -> str:
    return f"m-{table}-{partition}"


@dataclass(frozen=True)
class FeedEvent:
    seq: int
    event: dict[str, Any]  # the CloudEvent, as published


Compose = Callable[[OutboxRow], dict[str, Any]]


class EventFeed:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def append(self, rows: list[OutboxRow], compose: Compose) -> int:
        """Move `rows` (one outbox's, oldest first) into the feed, skipping those moved
        before; returns how many were added (at most EVENTS_PER_MOVE: call again for more)."""
        if not rows:
            return 0
        table = await self._tables.get(TABLE)
        marker = marker_key(rows[0].table, rows[0].partition)
        for attempt in range(MAX_ATTEMPTS):
            head, mark = await self._head_and_marker(marker)
            last = mark["last"] if mark else ""
            fresh = [row for row in rows if row.row_key > last][:EVENTS_PER_MOVE]
            if not fresh:
                return 0
            seq = int(head["seq"]) if head else 0
            operations: list[Any] = [
                _advance(
                    {"PartitionKey": PARTITION, "RowKey": HEAD, "seq": seq + len(fresh)}, head
                ),
                _advance(
                    {"PartitionKey": PARTITION, "RowKey": marker, "last": fresh[-1].row_key}, mark
                ),
            ]
            for offset, row in enumerate(fresh, start=1):
                event = compose(row)
                operations.append(
                    (
                        "create",
                        {
                            "PartitionKey": PARTITION,
                            "RowKey": event_key(seq + offset),
                            "event_id": event["id"],
                            "type": event["type"],
                            "subject": event.get("subject", ""),
                            "event": json.dumps(event, separators=(",", ":")),
                        },
                    )
                )
            try:
                await table.submit_transaction(operations)
            except TableTransactionError as exc:
                if exc.status_code not in (409, 412):
                    raise
                # Another dispatcher moved events meanwhile: read the head again.
                await asyncio.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
                continue
            return len(fresh)
        raise ConcurrencyError(f"the event feed kept changing; gave up after {MAX_ATTEMPTS} tries")

    async def _head_and_marker(self, marker: str) -> tuple[Any | None, Any | None]:
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            # The SDK substitutes @names between spaces only.
            "PartitionKey eq @pk and ( RowKey eq @head or RowKey eq @marker )",
            parameters={"pk": PARTITION, "head": HEAD, "marker": marker},
        )
        found = {entity["RowKey"]: entity async for entity in query}
        return found.get(HEAD), found.get(marker)

    async def head(self) -> int:
        """The seq of the newest event (0: none yet)."""
        head, _ = await self._head_and_marker(HEAD)
        return int(head["seq"]) if head else 0

    async def read(
        self, *, after: int = 0, limit: int = 100, subject: str | None = None
    ) -> list[FeedEvent]:
        """Events after seq `after`, oldest first, at most `limit` (only `subject`'s, if
        given)."""
        table = await self._tables.get(TABLE)
        clauses = ["PartitionKey eq @pk", "RowKey gt @after", "RowKey lt @end"]
        parameters: dict[str, Any] = {"pk": PARTITION, "after": event_key(after), "end": "e."}
        if subject is not None:
            clauses.append("subject eq @subject")
            parameters["subject"] = subject
        query = table.query_entities(
            " and ".join(clauses),
            parameters=parameters,
            results_per_page=min(limit, 1000),
            select=["RowKey", "event"],
        )
        events: list[FeedEvent] = []
        async for entity in query:
            events.append(FeedEvent(int(entity["RowKey"][2:]), json.loads(entity["event"])))
            if len(events) >= limit:
                break
        return events

    async def forget(self, before: datetime, *, up_to: int, limit: int = 1000) -> int:
        """Delete at most `limit` events older than `before`, none past seq `up_to` (what
        every sink has dealt with); returns how many."""
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk and RowKey gt @first and RowKey le @last and Timestamp lt @before",
            parameters={
                "pk": PARTITION,
                "first": "e-",
                "last": event_key(up_to),
                "before": before,
            },
            select=["RowKey"],
        )
        keys: list[str] = []
        async for entity in query:
            keys.append(entity["RowKey"])
            if len(keys) >= limit:
                break
        await delete_rows(table, PARTITION, keys)
        return len(keys)


def _advance(entity: dict[str, Any], current: Any | None) -> tuple[str, dict[str, Any], dict]:
    """Create the row, or replace it under the ETag it was read with."""
    if current is None:
        return ("create", entity, {})
    return (
        "update",
        entity,
        {
            "mode": UpdateMode.REPLACE,
            "etag": current.metadata["etag"],
            "match_condition": MatchConditions.IfNotModified,
        },
    )
