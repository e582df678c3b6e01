"""One Table service client per event loop, with the platform's tables created on first use."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from haymaker.errors import BadRequestError, ValidationFailedError
from haymaker.settings import StorageSettings
from haymaker.store.transport import direct_transport, service_from_connection_string

T = TypeVar("T")


def _service_client(settings: StorageSettings) -> TableServiceClient:
    if settings.connection_string:
        return service_from_connection_string(settings.connection_string)
    # Imported here: azure-identity is heavy and only needed in Azure.
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    credential: Any
    if settings.use_managed_identity:
        credential = ManagedIdentityCredential(client_id=settings.client_id)
    else:
        credential = DefaultAzureCredential(managed_identity_client_id=settings.client_id)
    assert settings.table_service_uri is not None
    return TableServiceClient(
        endpoint=settings.table_service_uri,
        credential=credential,
        **direct_transport(settings.table_service_uri),
    )


class Tables:
    """The platform's tables, named `<prefix><name>` (Table names allow only letters and digits)."""

    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings
        self.service = _service_client(settings)
        self._ready: dict[str, TableClient] = {}
        self._lock = asyncio.Lock()
        # Told (table, partition) when a write left events in that partition's outbox (the
        # runtime nudges the event dispatcher); None: nobody listens.
        self.outbox_listener: Callable[[str, str], None] | None = None

    def outbox_written(self, table: str, partition: str) -> None:
        if self.outbox_listener is not None:
            self.outbox_listener(table, partition)

    async def get(self, name: str) -> TableClient:
        client = self._ready.get(name)
        if client is not None:
            return client
        async with self._lock:
            if name not in self._ready:
                table_name = f"{self.settings.table_prefix}{name}"
                with contextlib.suppress(ResourceExistsError):
                    await self.service.create_table(table_name)
                self._ready[name] = self.service.get_table_client(table_name)
        return self._ready[name]

    async def delete_all(self) -> None:
        """Drop every table of this prefix (tests and `haymaker dev --reset`)."""
        for name in list(self._ready):
            await self.service.delete_table(f"{self.settings.table_prefix}{name}")
        self._ready.clear()

    async def close(self) -> None:
        for client in self._ready.values():
            await client.close()
        await self.service.close()


MAX_BATCH = 100  # Table Storage's limit of operations per transaction (one partition)


async def upsert_rows(table: TableClient, rows: list[dict[str, Any]]) -> None:
    """Replace-or-insert rows of one partition, 100 per transaction. A lone row goes as a
    plain upsert: a transaction's multipart body costs about twice the time."""
    if len(rows) == 1:
        await table.upsert_entity(rows[0], mode=UpdateMode.REPLACE)
        return
    operations = [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in rows]
    for start in range(0, len(operations), MAX_BATCH):
        await table.submit_transaction(operations[start : start + MAX_BATCH])


async def delete_rows(table: TableClient, partition: str, row_keys: list[str]) -> None:
    """Delete rows in batches; rows already gone (an earlier, interrupted run) are fine."""
    for start in range(0, len(row_keys), MAX_BATCH):
        chunk = row_keys[start : start + MAX_BATCH]
        try:
            await table.submit_transaction(
                [("delete", {"PartitionKey": partition, "RowKey": row}) for row in chunk]
            )
        except TableTransactionError as exc:
            if exc.status_code != 404:
                raise
            for row in chunk:  # delete_entity ignores a missing row
                await table.delete_entity(partition, row)


async def row_keys(table: TableClient, partition: str) -> list[str]:
    """The row keys of `partition`, in order (the rows' other columns are not read)."""
    query = table.query_entities(
        "PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey"]
    )
    return [entity["RowKey"] async for entity in query]


async def delete_partition(table: TableClient, partition: str) -> int:
    """Delete every row of `partition` (scan the keys, then delete in batches); returns how
    many. Safe to repeat after an interruption."""
    rows = await row_keys(table, partition)
    await delete_rows(table, partition, rows)
    return len(rows)


@dataclass
class Page(Generic[T]):
    """One page of a listing; pass `continuation` back for the next (None: the last page)."""

    items: list[T]
    continuation: str | None


async def first_page(
    table: TableClient,
    query: str,
    parameters: dict[str, Any],
    convert: Callable[[Any], T],
    *,
    limit: int,
    continuation: str | None = None,
) -> Page[T]:
    """The page of `query` that starts at `continuation` (a token this module issued)."""
    pages = table.query_entities(query, parameters=parameters, results_per_page=limit).by_page(
        continuation_token=decode_continuation(continuation)
    )
    items: list[T] = []
    async for page in pages:
        items = [convert(entity) async for entity in page]
        break
    return Page(items=items, continuation=encode_continuation(pages.continuation_token))


def encode_continuation(token: dict[str, str] | None) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")


CONTINUATION_PATTERN = r"^[A-Za-z0-9_-]{1,2000}$"


def decode_continuation(token: str | None) -> dict[str, str] | None:
    """A token this service issued, else 400 (not even its alphabet) or 422 (well formed but
    not one of ours)."""
    if token is None:
        return None
    if not re.fullmatch(CONTINUATION_PATTERN, token):
        raise BadRequestError("continuation token is not one this service issued")
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailedError("continuation token is not one this service issued") from None
    if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        raise ValidationFailedError("continuation token is not one this service issued")
    return value
