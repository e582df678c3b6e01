"""The approvals table: PartitionKey = deployment id, RowKey = approval key, one row per
request with its decision once made. Decisions are ETag-guarded writes of a pending row:
exactly one of any number of concurrent deciders (people, or the timeout) wins."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from haymaker import keys
from haymaker.approvals import Approval, ApprovalStatus
from haymaker.errors import ApprovalNotFoundError, ConflictError
from haymaker.store.tables import Page, Tables, delete_partition, first_page

TABLE = "approvals"
_JSON = ("options", "payload", "decision", "raised")


def _to_entity(approval: Approval) -> dict[str, Any]:
    data = approval.model_dump(mode="json")
    entity: dict[str, Any] = {"PartitionKey": approval.deployment_id, "RowKey": approval.key}
    for name, value in data.items():
        if name in ("deployment_id", "key") or value is None:
            continue
        entity[name] = json.dumps(value, separators=(",", ":")) if name in _JSON else value
    return entity


def _from_entity(entity: Any) -> Approval:
    data = {name: entity[name] for name in entity if name not in ("PartitionKey", "RowKey")}
    for name in _JSON:
        if name in data:
            data[name] = json.loads(data[name])
    return Approval.model_validate(
        {**data, "deployment_id": entity["PartitionKey"], "key": entity["RowKey"]}
    )


class ApprovalStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def ask(self, approval: Approval) -> Approval:
        """Record a request; asking again from a re-run of the same step is a no-op (the
        stored request, maybe decided meanwhile, is returned). A key used by another request
        is a ConflictError."""
        keys.deployment_id(approval.deployment_id)
        table = await self._tables.get(TABLE)
        try:
            await table.create_entity(_to_entity(approval))
        except ResourceExistsError:
            existing = await self.get(approval.deployment_id, approval.key)
            if not existing.same_request(approval):
                raise ConflictError(
                    f"approval key {approval.key!r} was already used in this deployment"
                ) from None
            return existing
        return approval

    async def get(self, deployment_id: str, key: str) -> Approval:
        return (await self._get(deployment_id, key))[0]

    async def _get(self, deployment_id: str, key: str) -> tuple[Approval, str]:
        keys.deployment_id(deployment_id)
        keys.table_key(key, "approval key")
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(deployment_id, key)
        except ResourceNotFoundError:
            raise ApprovalNotFoundError(
                f"deployment {deployment_id} has no approval {key!r}"
            ) from None
        return _from_entity(entity), entity.metadata["etag"]

    async def settle(
        self, deployment_id: str, key: str, change: Callable[[Approval], Approval]
    ) -> tuple[Approval, bool]:
        """Apply `change` to the row if it is still pending. Returns the row as it now is
        and whether this call settled it; a row someone else settled first is returned
        as they left it."""
        table = await self._tables.get(TABLE)
        while True:
            current, etag = await self._get(deployment_id, key)
            if current.status is not ApprovalStatus.PENDING:
                return current, False
            settled = change(current)
            try:
                await table.update_entity(
                    _to_entity(settled),
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                continue  # someone wrote first: see what they did
            return settled, True

    async def of_deployment(
        self, deployment_id: str, *, limit: int = 100, continuation: str | None = None
    ) -> Page[Approval]:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            "PartitionKey eq @pk",
            {"pk": deployment_id},
            _from_entity,
            limit=limit,
            continuation=continuation,
        )

    async def with_status(
        self, status: ApprovalStatus, *, limit: int = 50, continuation: str | None = None
    ) -> Page[Approval]:
        """Across deployments (a filtered scan: approvals are few beside steps)."""
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            "status eq @status",
            {"status": ApprovalStatus(status).value},
            _from_entity,
            limit=limit,
            continuation=continuation,
        )

    async def delete_all(self, deployment_id: str) -> int:
        keys.deployment_id(deployment_id)
        return await delete_partition(await self._tables.get(TABLE), deployment_id)
