"""The resources table: what each deployment's workload created (PartitionKey = deployment
id, RowKey = `kind:name`), so cleanup knows what to delete even after a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass

from haymaker import keys
from haymaker.models import Resource
from haymaker.store.tables import (
    Tables,
    decode_continuation,
    delete_rows,
    encode_continuation,
    upsert_rows,
)

TABLE = "resources"


@dataclass
class ResourcePage:
    items: list[Resource]
    continuation: str | None


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
    ) -> ResourcePage:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        pages = table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": deployment_id}, results_per_page=limit
        ).by_page(continuation_token=decode_continuation(continuation))
        items: list[Resource] = []
        async for page in pages:
            async for entity in page:
                items.append(
                    Resource(
                        kind=entity["kind"], name=entity["name"], data=json.loads(entity["data"])
                    )
                )
            break
        return ResourcePage(items=items, continuation=encode_continuation(pages.continuation_token))

    async def count(self, deployment_id: str) -> int:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": deployment_id}, select=["RowKey"]
        )
        return sum([1 async for _ in query])

    async def delete_all(self, deployment_id: str) -> int:
        """Drop every resource record of a deployment (not the resources themselves)."""
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        query = table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": deployment_id}, select=["RowKey"]
        )
        rows = [entity["RowKey"] async for entity in query]
        await delete_rows(table, deployment_id, rows)
        return len(rows)

    async def delete(self, deployment_id: str, resources: list[Resource]) -> None:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        await delete_rows(table, deployment_id, [resource.key for resource in resources])
