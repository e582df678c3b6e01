"""Workload catalogue endpoints."""

import azure.durable_functions as df
import azure.functions as func

from api.auth import Role, authorize
from api.http import json_response, problem_responses
from api.schemas import WorkloadList, WorkloadSummary
from haymaker import keys
from haymaker.runtime import get_runtime

bp = df.Blueprint()


@bp.route(route="workloads", methods=["GET"])
@problem_responses
async def workloads(req: func.HttpRequest) -> func.HttpResponse:
    authorize(req, Role.READER)
    items = [
        WorkloadSummary(
            name=manifest.name,
            version=manifest.version,
            description=manifest.description,
            phases=manifest.phases,
        )
        for manifest in get_runtime().registry.manifests()
    ]
    return json_response(WorkloadList(items=items))


@bp.route(route="workloads/{name}", methods=["GET"])
@problem_responses
async def workload(req: func.HttpRequest) -> func.HttpResponse:
    authorize(req, Role.READER)
    manifest = get_runtime().registry.manifest(keys.workload_name(req.route_params["name"]))
    return json_response(manifest.model_dump(mode="json", exclude_none=True))
