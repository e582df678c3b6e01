"""The tools each deployment's outside sources offered when it first used them
(`<prefix>toollistings`: PartitionKey = deployment id, RowKey = source name, the listing
packed). The first listing stored for a deployment and source is the one every later step,
replay or re-run of that deployment sees."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from pydantic import TypeAdapter

from haymaker.integrations.models import ToolListing
from haymaker.store.packed import pack, unpack
from haymaker.store.tables import Tables, delete_partition

TABLE = "toollistings"
BLOB = "listing"
_LISTING: TypeAdapter[Any] = TypeAdapter(ToolListing)


def _from_entity(entity: Any) -> Any:
    return _LISTING.validate_json(unpack(BLOB, entity))


class ToolListingStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def keep(self, deployment_id: str, listing: Any) -> Any:
        """Store `listing` unless one is stored for this deployment and source already;
        answers the stored one (the first writer wins)."""
        table = await self._tables.get(TABLE)
        name = listing.spec.name
        text = _LISTING.dump_json(listing).decode()
        entity = {
            "PartitionKey": deployment_id,
            "RowKey": name,
            "kind": listing.kind,
            **pack(BLOB, text, f"the tool listing of {name}"),
        }
        try:
            await table.create_entity(entity)
        except ResourceExistsError:
            stored = await self.get(deployment_id, name)
            if stored is not None:
                return stored
        return listing

    async def get(self, deployment_id: str, name: str) -> Any:
        table = await self._tables.get(TABLE)
        try:
            return _from_entity(await table.get_entity(deployment_id, name))
        except ResourceNotFoundError:
            return None

    async def forget(self, deployment_id: str) -> int:
        """Delete a deployment's listings (when it is purged); returns how many."""
        table = await self._tables.get(TABLE)
        return await delete_partition(table, deployment_id)
