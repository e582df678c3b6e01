"""The logs table: partition per deployment, RowKey = zero-padded dense line number, so rows
sort in time order, a re-run step overwrites its own lines instead of duplicating them, and
`tail` is a key range."""

from __future__ import annotations

from haymaker import keys
from haymaker.models import LogEntry
from haymaker.store.tables import Tables, delete_partition, upsert_rows

TABLE = "logs"
MAX_MESSAGE_CHARS = 8_000
# Log cursors are line numbers; this bounds what a reader may ask for.
MAX_LOG_CURSOR = 10**12


def row_key(line: int) -> str:
    return f"{line:012d}"


class LogStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def write(self, deployment_id: str, entries: list[LogEntry]) -> None:
        keys.deployment_id(deployment_id)
        if not entries:
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
        await upsert_rows(table, rows)

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
