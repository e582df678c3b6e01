"""Service endpoints: health and the OpenAPI document (anonymous), and metrics."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.operation import Operations, Reply, Response

if TYPE_CHECKING:
    import azure.functions as func

bp = df.Blueprint()
http = Operations(bp, tag="service")

HEALTH_TIMEOUT_SECONDS = 5.0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("haymaker-functions")
    except PackageNotFoundError:
        return "0.1.0"


@http.get(
    "health",
    "health",
    role=None,
    responses={
        200: Response("Health", "Healthy"),
        503: Response("Health", "Storage unreachable or a setting malformed (named)"),
    },
)
async def health() -> Reply:
    """Service and storage health."""
    from api.schemas import Health
    from haymaker.runtime import get_runtime
    from haymaker.settings import SettingsError

    degraded = {"status": "degraded", "version": _version()}
    try:
        runtime = get_runtime()
    except SettingsError as exc:
        setting = f"{exc.setting}: {exc}" if exc.setting else str(exc)
        body = Health(**degraded, storage="unknown: the settings are malformed", settings=setting)
        return Reply(body, 503, headers={"Retry-After": "30"})
    try:
        await asyncio.wait_for(runtime.stores().deployments.probe(), HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:
        body = Health(**degraded, storage=f"unreachable: {type(exc).__name__}")
        return Reply(body, 503, headers={"Retry-After": "5"})
    return Reply(Health(status="ok", version=_version(), storage="ok"))


@http.get(
    "openapi.json",
    "openapi",
    role=None,
    responses={200: Response(None, "OpenAPI 3.1 document")},
)
async def openapi(req: func.HttpRequest) -> Reply:
    """This document."""
    from api.openapi import openapi_document

    server = req.url.split("/api/", 1)[0] + "/api"
    return Reply(openapi_document(server))


@http.get(
    "metrics",
    "metrics",
    role=Role.READER,
    responses={200: Response("Metrics", "Counts")},
)
async def metrics() -> Reply:
    """Deployments by status and workload; schedules."""
    from api.schemas import Metrics
    from haymaker.runtime import get_runtime

    # Counts by status and workload, from two columns of each deployment and schedule.
    stores = get_runtime().stores()
    deployments = await stores.deployments.counts()
    total = sum(deployments["by_status"].values())
    schedules = await stores.schedules.counts()
    return Reply(Metrics(deployments={"total": total, **deployments}, schedules=schedules))
