"""The transactional outbox: an entity's events are rows in its own partition (RowKey
`event-<incarnation>-<seq>`), written in the one Table transaction that writes the change
causing them, so neither exists without the other. The dispatcher moves them into the feed
(haymaker.store.feed) and deletes them.

`incarnation` is the entity's creation time: an id used again after a purge sorts after the
rows of its previous life, which may not all be moved yet. Listing queries of the tables
that hold outboxes read only their entity rows (`RowKey eq 'state'` / `'schedule'`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from haymaker.events.model import OutboxEvent
from haymaker.store.tables import delete_rows

PREFIX = "event-"
_END = "event."  # the first key after every outbox row
SEQ_DIGITS = 8


def incarnation(created_at: datetime) -> str:
    return f"{created_at.astimezone(UTC):%Y%m%d%H%M%S%f}"


def event_key(created_at: datetime, seq: int) -> str:
    return f"{PREFIX}{incarnation(created_at)}-{seq:0{SEQ_DIGITS}d}"


def sequence_of(row_key: str) -> str:
    """The CloudEvents `sequence` of an outbox row: orderable among its subject's events."""
    return row_key.removeprefix(PREFIX)


@dataclass(frozen=True)
class OutboxRow:
    table: str  # the store's table name (without prefix)
    partition: str
    row_key: str
    event: OutboxEvent


def rows_for(
    partition: str, created_at: datetime, first_seq: int, events: Sequence[OutboxEvent]
) -> list[dict[str, Any]]:
    return [
        {
            "PartitionKey": partition,
            "RowKey": event_key(created_at, first_seq + offset),
            "type": event.type,
            "event": event.to_json(),
        }
        for offset, event in enumerate(events)
    ]


async def write_with(
    table: TableClient,
    operation: tuple[str, dict[str, Any], dict[str, Any]],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """`operation` (an entity's create, ETag-guarded update or delete) and its outbox rows in
    one transaction; the operation's metadata. Raises what the operation alone would: a
    stale ETag is ResourceModifiedError, an existing entity ResourceExistsError."""
    operations = [operation, *(("create", row, {}) for row in rows)]
    try:
        results = await table.submit_transaction(operations)  # type: ignore[arg-type]
    except TableTransactionError as exc:
        if exc.status_code == 412:
            raise ResourceModifiedError(str(exc)) from None
        if exc.status_code == 409:
            raise ResourceExistsError(str(exc)) from None
        raise
    return dict(results[0])


def guarded_update(entity: dict[str, Any], etag: str | None) -> tuple[str, dict[str, Any], dict]:
    return (
        "update",
        entity,
        {
            "mode": UpdateMode.REPLACE,
            "etag": etag,
            "match_condition": MatchConditions.IfNotModified,
        },
    )


def guarded_delete(partition: str, row: str, etag: str | None) -> tuple[str, dict[str, Any], dict]:
    return (
        "delete",
        {"PartitionKey": partition, "RowKey": row},
        {"etag": etag, "match_condition": MatchConditions.IfNotModified},
    )


async def pending(table: TableClient, table_name: str, partition: str) -> list[OutboxRow]:
    """The partition's outbox rows, oldest first."""
    query = table.query_entities(
        "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end",
        parameters={"pk": partition, "first": PREFIX, "end": _END},
    )
    return [_row(table_name, entity) async for entity in query]


async def partitions_with_events(table: TableClient) -> list[str]:
    """Every partition that holds outbox rows (a scan of the table's keys: for the sweep
    that catches up after a crash, not for the hot path)."""
    query = table.query_entities(
        "RowKey ge @first and RowKey lt @end",
        parameters={"first": PREFIX, "end": _END},
        select=["PartitionKey"],
    )
    found = [entity["PartitionKey"] async for entity in query]
    return list(dict.fromkeys(found))


async def drop(table: TableClient, partition: str, row_keys: list[str]) -> None:
    await delete_rows(table, partition, row_keys)


def _row(table_name: str, entity: Any) -> OutboxRow:
    return OutboxRow(
        table=table_name,
        partition=entity["PartitionKey"],
        row_key=entity["RowKey"],
        event=OutboxEvent.model_validate_json(entity["event"]),
    )
