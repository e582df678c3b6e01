"""The logs table: partition per deployment, RowKey = zero-padded dense line number, so rows
sort in time order, a re-run step overwrites its own lines instead of duplicating them, and
`tail` is a key range.

The same partition holds one row per durable step (RowKey `~step-<n>`, sorting after every
line), written with the step's lines: a deployment's timeline costs no extra round trip."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from azure.data.tables import UpdateMode

from haymaker import keys
from haymaker.models import LogEntry, StepMark
from haymaker.store.tables import Tables, delete_partition, upsert_rows

TABLE = "logs"
MAX_MESSAGE_CHARS = 8_000
# Log cursors are line numbers; this bounds what a reader may ask for.
MAX_LOG_CURSOR = 10**12
FEW_ROWS = 3  # written as plain upserts at once; more go in transactions


STEP_PREFIX = "~step-"


def row_key(line: int) -> str:
    return f"{line:012d}"


def step_key(step: int) -> str:
    return f"{STEP_PREFIX}{step:012d}"


class LogStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def write(
        self, deployment_id: str, entries: list[LogEntry], steps: Sequence[StepMark] = ()
    ) -> None:
        keys.deployment_id(deployment_id)
        if not entries and not steps:
            return
        table = await self._tables.get(TABLE)
        rows = [
            {
                "PartitionKey": deployment_id,
                "RowKey": row_key(entry.line),
                "timestamp": entry.timestamp,
                "level": entry.level,
                "message": entry.message[:MAX_MESSAGE_CHARS],
            }
            for entry in entries
        ]
        rows += [
            {"PartitionKey": deployment_id, "RowKey": step_key(mark.step), **_step_row(mark)}
            for mark in steps
        ]
        if len(rows) > FEW_ROWS:
            await upsert_rows(table, rows)
            return
        # A step's usual line or two and its step row: plain upserts at once cost less than a
        # transaction's multipart body, and nothing needs them all-or-nothing (lines show only
        # once the entity's log_count passes them; a re-run rewrites the same keys).
        await asyncio.gather(*(table.upsert_entity(row, mode=UpdateMode.REPLACE) for row in rows))

    async def steps(
        self, deployment_id: str, *, after: int | None = None, limit: int = 1000
    ) -> list[StepMark]:
        """The deployment's steps in order, those after step `after` (at most `limit`)."""
        keys.deployment_id(deployment_id)
        first = step_key(after + 1) if after is not None else STEP_PREFIX
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end",
            parameters={"pk": deployment_id, "first": first, "end": STEP_PREFIX[:-1] + "."},
            results_per_page=min(limit, 1000),
        )
        marks: list[StepMark] = []
        async for entity in query:
            marks.append(_step_mark(dict(entity)))
            if len(marks) >= limit:
                break
        return marks

    async def read(
        self,
        deployment_id: str,
        *,
        total: int,
        after: int | None = None,
        tail: int | None = None,
        limit: int = 1000,
    ) -> list[LogEntry]:
        """Lines after line `after`, or the last `tail` lines of `total`, at most `limit`.

        Lines at or past `total` (the count recorded on the deployment) are not committed yet:
        a step wrote them but its state update has not landed, so they are not shown.
        """
        keys.deployment_id(deployment_id)
        first = 0
        if tail is not None:
            first = max(first, total - tail)
        if after is not None:
            first = max(first, after + 1)
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end",
            parameters={"pk": deployment_id, "first": row_key(first), "end": row_key(total)},
            results_per_page=min(limit, 1000),
        )
        entries: list[LogEntry] = []
        async for entity in query:
            entries.append(
                LogEntry(
                    line=int(entity["RowKey"]),
                    timestamp=entity["timestamp"],
                    level=entity["level"],
                    message=entity["message"],
                )
            )
            if len(entries) >= limit:
                break
        return entries

    async def delete_all(self, deployment_id: str) -> int:
        keys.deployment_id(deployment_id)
        return await delete_partition(await self._tables.get(TABLE), deployment_id)


def _step_row(mark: StepMark) -> dict[str, Any]:
    row = mark.model_dump(mode="python", exclude={"metrics"})
    # A table property holds no mapping: the metrics travel as one JSON string.
    row["metrics"] = json.dumps(mark.metrics, separators=(",", ":"))
    return row


def _step_mark(entity: dict[str, Any]) -> StepMark:
    metrics = entity.pop("metrics", None)
    return StepMark.model_validate({**entity, "metrics": json.loads(metrics) if metrics else {}})
