"""Workload catalogue endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.operation import Operations, Reply, Response

if TYPE_CHECKING:
    from api.schemas import WorkloadName

bp = df.Blueprint()
http = Operations(bp, tag="workloads")


@http.get(
    "workloads",
    "listWorkloads",
    role=Role.READER,
    responses={200: Response("WorkloadList", "Installed workloads")},
)
async def list_workloads() -> Reply:
    """Installed workloads."""
    from api.schemas import WorkloadList, WorkloadSummary
    from haymaker.runtime import get_runtime

    items = [
        WorkloadSummary(
            name=manifest.name,
            version=manifest.version,
            description=manifest.description,
            phases=manifest.phases,
        )
        for manifest in get_runtime().registry.manifests()
    ]
    return Reply(WorkloadList(items=items))


@http.get(
    "workloads/{name}",
    "getWorkload",
    role=Role.READER,
    responses={200: Response("WorkloadManifest", "The manifest")},
    problems=(404,),
)
async def get_workload(name: WorkloadName) -> Reply:
    """A workload's manifest and config schema."""
    from haymaker.runtime import get_runtime

    return Reply(get_runtime().registry.manifest(name), exclude_none=True)
