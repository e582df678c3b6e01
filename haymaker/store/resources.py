"""The resources table: what each deployment's workload created (PartitionKey = deployment
id, RowKey = `kind:name`), so cleanup knows what to delete even after a crash."""

from __future__ import annotations

import json
from typing import Any

from haymaker import keys
from haymaker.models import Resource
from haymaker.store.tables import (
    Page,
    Tables,
    delete_partition,
    delete_rows,
    first_page,
    row_keys,
    upsert_rows,
)

TABLE = "resources"


def _resource(entity: Any) -> Resource:
    return Resource(kind=entity["kind"], name=entity["name"], data=json.loads(entity["data"]))


class ResourceStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def put(self, deployment_id: str, resources: list[Resource]) -> None:
        keys.deployment_id(deployment_id)
        if not resources:
            return
        table = await self._tables.get(TABLE)
        rows = [
            {
                "PartitionKey": deployment_id,
                "RowKey": keys.table_key(resource.key, "resource name"),
                "kind": resource.kind,
                "name": resource.name,
                "data": json.dumps(resource.data, separators=(",", ":"), default=str),
            }
            for resource in resources
        ]
        await upsert_rows(table, rows)

    async def page(
        self, deployment_id: str, *, limit: int = 100, continuation: str | None = None
    ) -> Page[Resource]:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            "PartitionKey eq @pk",
            {"pk": deployment_id},
            _resource,
            limit=limit,
            continuation=continuation,
        )

    async def count(self, deployment_id: str) -> int:
        keys.deployment_id(deployment_id)
        return len(await row_keys(await self._tables.get(TABLE), deployment_id))

    async def delete_all(self, deployment_id: str) -> int:
        """Drop every resource record of a deployment (not the resources themselves)."""
        keys.deployment_id(deployment_id)
        return await delete_partition(await self._tables.get(TABLE), deployment_id)

    async def delete(self, deployment_id: str, resources: list[Resource]) -> None:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        await delete_rows(table, deployment_id, [resource.key for resource in resources])
