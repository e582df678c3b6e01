"""Where long scans resume: `<prefix>cursors`, one row per named scan (PartitionKey = the
name, RowKey "cursor") holding the continuation token the next run starts from."""

from __future__ import annotations

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from haymaker.store.tables import Tables

TABLE = "cursors"
ROW_KEY = "cursor"


class CursorStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, name: str) -> str | None:
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(name, ROW_KEY)
        except ResourceNotFoundError:
            return None
        return entity.get("continuation") or None

    async def set(self, name: str, continuation: str | None) -> None:
        """Record where the scan goes on (None: from the beginning)."""
        table = await self._tables.get(TABLE)
        entity = {"PartitionKey": name, "RowKey": ROW_KEY, "continuation": continuation or ""}
        await table.upsert_entity(entity, mode=UpdateMode.REPLACE)
