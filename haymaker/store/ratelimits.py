"""Per-caller fixed-window rate limits in Table Storage, shared by every instance of the app.

A window of (caller, action, minute) has `limit` numbered slots, one row each. A request counts
the rows taken, then inserts the next slot; an insert that loses a race to another request
(the row exists) moves on to the following slot. So exactly `limit` requests get in per window
however many arrive at once, no request retries a shared counter, and a refused request
writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from haymaker.errors import RateLimitedError
from haymaker.store.tables import Tables, row_keys

TABLE = "ratelimits"
WINDOW_SECONDS = 60


class RateLimiter:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def take(self, caller: str, action: str, limit: int, now: datetime) -> None:
        """Count one `action` by `caller` in the current minute; RateLimitedError (with the
        seconds until the window ends) beyond `limit`. `limit` 0 means no limit."""
        if limit <= 0:
            return
        table = await self._tables.get(TABLE)
        epoch = int(now.timestamp())
        window = epoch - epoch % WINDOW_SECONDS
        partition = f"{caller}-{action}-{window}"
        slot = len(await row_keys(table, partition))
        while slot < limit:
            try:
                await table.create_entity(
                    {"PartitionKey": partition, "RowKey": f"{slot:06d}", "window": window}
                )
                return
            except ResourceExistsError:
                slot += 1
        raise RateLimitedError(
            f"at most {limit} {action} requests a minute per caller",
            WINDOW_SECONDS - (epoch - window),
        )

    async def forget_before(self, cutoff: datetime) -> int:
        """Delete rows of windows that ended before `cutoff`; returns how many."""
        table = await self._tables.get(TABLE)
        old = table.query_entities(
            "window lt @cutoff",
            parameters={"cutoff": int(cutoff.timestamp()) - WINDOW_SECONDS},
            select=["PartitionKey", "RowKey"],
        )
        deleted = 0
        async for entity in old:
            try:
                await table.delete_entity(entity["PartitionKey"], entity["RowKey"])
            except ResourceNotFoundError:
                continue
            deleted += 1
        return deleted
