"""The transcripts table: PartitionKey = deployment id, one entry per message, RowKey =
`<index>.<chunk>` (zero-padded). An entry's JSON is split into chunks that each fit a Table
property, so a large tool result is kept whole; a re-run step rewrites its own entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from haymaker import keys
from haymaker.agents.transcript import TranscriptEntry
from haymaker.store.tables import Tables, delete_partition, row_keys, upsert_rows

TABLE = "transcripts"
CHUNK_CHARS = 30_000  # a string property holds 32K UTF-16 code units
MAX_CHUNKS = 30  # ~900K characters an entry: beyond this the entry refuses (see put)
MAX_INDEX = 10**8


def _row_key(index: int, chunk: int) -> str:
    return f"{index:08d}.{chunk:03d}"


class TranscriptTooLargeError(ValueError):
    pass


class TranscriptStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, deployment_id: str, entry: TranscriptEntry) -> None:
        """Write `entry` (replacing an earlier write of the same index, chunks included)."""
        keys.deployment_id(deployment_id)
        text = entry.model_dump_json(exclude_none=True)
        chunks = [text[start : start + CHUNK_CHARS] for start in range(0, len(text), CHUNK_CHARS)]
        if len(chunks) > MAX_CHUNKS:
            raise TranscriptTooLargeError(
                f"transcript entry {entry.index} is {len(text)} characters"
            )
        table = await self._tables.get(TABLE)
        rows = [
            {
                "PartitionKey": deployment_id,
                "RowKey": _row_key(entry.index, number),
                "chunks": len(chunks),
                "text": chunk,
            }
            for number, chunk in enumerate(chunks)
        ]
        await upsert_rows(table, rows)

    async def get(self, deployment_id: str, index: int) -> TranscriptEntry | None:
        entries = await self.read(deployment_id, after=index - 1, limit=1)
        return entries[0] if entries and entries[0].index == index else None

    async def read(
        self, deployment_id: str, *, after: int | None = None, limit: int = 1000
    ) -> list[TranscriptEntry]:
        """Entries after index `after` (all: None), in order, at most `limit`."""
        keys.deployment_id(deployment_id)
        first = 0 if after is None else after + 1
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first",
            parameters={"pk": deployment_id, "first": _row_key(first, 0)},
        )
        entries: list[TranscriptEntry] = []
        index, expected, parts = -1, 0, []
        async for row in query:
            row_index, chunk = (int(part) for part in row["RowKey"].split("."))
            if chunk == 0:
                index, expected, parts = row_index, row["chunks"], []
            # A longer earlier write of this index may have left chunks past `expected`.
            if row_index != index or chunk >= expected:
                continue
            parts.append(row["text"])
            if len(parts) == expected:
                entries.append(TranscriptEntry.model_validate_json("".join(parts)))
                if len(entries) >= limit:
                    break
        return entries

    async def count(self, deployment_id: str) -> int:
        """Entries so far (their indexes are dense)."""
        keys.deployment_id(deployment_id)
        rows = await row_keys(await self._tables.get(TABLE), deployment_id)
        return len({row.split(".")[0] for row in rows})

    async def delete_all(self, deployment_id: str) -> int:
        keys.deployment_id(deployment_id)
        return await delete_partition(await self._tables.get(TABLE), deployment_id)


def entries_json(entries: Iterable[TranscriptEntry]) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json") for entry in entries]
