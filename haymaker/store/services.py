"""Service registrations (`<prefix>services`): one entity per service (PartitionKey = its
name, RowKey "service"), the whole ServiceRecord packed (an OpenAPI service's compiled
operations may be large), its kind and time beside it to read at a glance."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from haymaker.errors import ConflictError, NotFoundError
from haymaker.integrations.models import ServiceRecord
from haymaker.store.packed import pack, unpack
from haymaker.store.tables import Page, Tables, first_page

TABLE = "services"
ROW_KEY = "service"
BLOB = "record"


class ServiceNotFoundError(NotFoundError):
    title = "Service not found"


def _to_entity(record: ServiceRecord) -> dict[str, Any]:
    name = record.spec.name
    return {
        "PartitionKey": name,
        "RowKey": ROW_KEY,
        "kind": record.spec.kind,
        "registered_at": record.registered_at,
        **pack(BLOB, record.model_dump_json(), f"service {name}"),
    }


def _from_entity(entity: Any) -> ServiceRecord:
    return ServiceRecord.model_validate_json(unpack(BLOB, entity))


class ServiceStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(self, record: ServiceRecord, *, replace: bool = False) -> None:
        """Store a registration; ConflictError if the name is taken, unless `replace`."""
        table = await self._tables.get(TABLE)
        entity = _to_entity(record)
        if replace:
            await table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            return
        try:
            await table.create_entity(entity)
        except ResourceExistsError:
            raise ConflictError(
                f"service {record.spec.name} is already registered (replace it, or remove it first)"
            ) from None

    async def find(self, name: str) -> ServiceRecord | None:
        table = await self._tables.get(TABLE)
        try:
            return _from_entity(await table.get_entity(name, ROW_KEY))
        except ResourceNotFoundError:
            return None

    async def get(self, name: str) -> ServiceRecord:
        record = await self.find(name)
        if record is None:
            raise ServiceNotFoundError(f"no service {name} is registered")
        return record

    async def list(
        self, *, limit: int = 50, continuation: str | None = None
    ) -> Page[ServiceRecord]:
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            "RowKey eq @row",
            {"row": ROW_KEY},
            _from_entity,
            limit=limit,
            continuation=continuation,
        )

    async def remove(self, name: str) -> ServiceRecord:
        record = await self.get(name)
        table = await self._tables.get(TABLE)
        await table.delete_entity(name, ROW_KEY)
        return record
