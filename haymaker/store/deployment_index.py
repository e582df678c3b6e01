"""The newest-first index of deployments: `<prefix>deploymentindex`, one row per deployment
in one partition, RowKey = inverted creation time + id, so a plain range read lists the
newest first and pages with a continuation token like any other query.

A row carries what listings filter on (workload, schedule, status). The deployment entity is
the truth: a row is written before the entity it points to (so an interruption leaves an
extra row, never a missing one), and readers check every row against its entity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from haymaker.models import DeploymentState, DeploymentStatus
from haymaker.store.tables import Page, Tables, first_page

TABLE = "deploymentindex"
PARTITION = "newest"
# A row in another partition says every deployment has its row (see DeploymentStore.reindex).
META_PARTITION, BUILT_ROW = "meta", "built-v1"
# Milliseconds since the epoch subtracted from this sort newest first until the year 2286.
_INVERT = 10**13


def index_key(deployment_id: str, created_at: datetime) -> str:
    return f"{_INVERT - int(created_at.timestamp() * 1000):013d}-{deployment_id}"


def _row(state: DeploymentState) -> dict[str, Any]:
    row: dict[str, Any] = {
        "PartitionKey": PARTITION,
        "RowKey": index_key(state.deployment_id, state.created_at),
        "deployment_id": state.deployment_id,
        "workload_name": state.workload_name,
        "status": DeploymentStatus(state.status).value,
        "created_at": state.created_at,
    }
    if state.schedule_id:
        row["schedule_id"] = state.schedule_id
    return row


def _listed(entity: Any) -> dict[str, Any]:
    return {**entity, "written_at": entity.metadata["timestamp"]}


class DeploymentIndex:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def is_built(self) -> bool:
        table = await self._tables.get(TABLE)
        try:
            await table.get_entity(META_PARTITION, BUILT_ROW)
        except ResourceNotFoundError:
            return False
        return True

    async def mark_built(self) -> None:
        table = await self._tables.get(TABLE)
        await table.upsert_entity({"PartitionKey": META_PARTITION, "RowKey": BUILT_ROW})

    async def put(self, state: DeploymentState) -> None:
        """Write (or rewrite) the row of `state`, status included."""
        table = await self._tables.get(TABLE)
        await table.upsert_entity(_row(state), mode=UpdateMode.REPLACE)

    async def drop(self, deployment_id: str, created_at: datetime) -> None:
        await self.drop_key(index_key(deployment_id, created_at))

    async def drop_key(self, row_key: str) -> None:
        table = await self._tables.get(TABLE)
        await table.delete_entity(PARTITION, row_key)  # a missing row is fine

    async def page(
        self,
        *,
        workload: str | None,
        status: DeploymentStatus | None,
        schedule_id: str | None,
        limit: int,
        continuation: str | None,
    ) -> Page[dict[str, Any]]:
        clauses, parameters = ["PartitionKey eq @pk"], {"pk": PARTITION}
        for column, value in (
            ("workload_name", workload),
            ("status", DeploymentStatus(status).value if status else None),
            ("schedule_id", schedule_id),
        ):
            if value is not None:
                clauses.append(f"{column} eq @{column}")
                parameters[column] = value
        table = await self._tables.get(TABLE)
        return await first_page(
            table,
            " and ".join(clauses),
            parameters,
            _listed,
            limit=limit,
            continuation=continuation,
        )
