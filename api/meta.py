"""Anonymous service endpoints: health and the OpenAPI document."""

import asyncio
from importlib.metadata import PackageNotFoundError, version

import azure.durable_functions as df
import azure.functions as func

from api.auth import Role, authorize
from api.http import json_response, problem_responses
from api.openapi import openapi_document
from api.schemas import Health, Metrics
from haymaker.runtime import get_runtime

bp = df.Blueprint()

HEALTH_TIMEOUT_SECONDS = 5.0


def _version() -> str:
    try:
        return version("haymaker-functions")
    except PackageNotFoundError:
        return "0.1.0"


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@problem_responses
async def health(req: func.HttpRequest) -> func.HttpResponse:
    try:
        await asyncio.wait_for(get_runtime().stores().deployments.probe(), HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:
        body = Health(
            status="degraded", version=_version(), storage=f"unreachable: {type(exc).__name__}"
        )
        return json_response(body, 503, headers={"Retry-After": "5"})
    return json_response(Health(status="ok", version=_version(), storage="ok"))


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@problem_responses
async def openapi(req: func.HttpRequest) -> func.HttpResponse:
    server = req.url.split("/api/", 1)[0] + "/api"
    return json_response(openapi_document(server))


@bp.route(route="metrics", methods=["GET"])
@problem_responses
async def metrics(req: func.HttpRequest) -> func.HttpResponse:
    """Counts by status and workload, from two columns of each deployment and schedule."""
    authorize(req, Role.READER)
    stores = get_runtime().stores()
    deployments = await stores.deployments.counts()
    total = sum(deployments["by_status"].values())
    schedules = await stores.schedules.counts()
    return json_response(Metrics(deployments={"total": total, **deployments}, schedules=schedules))
