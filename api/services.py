"""Service endpoints: register an MCP server or an OpenAPI service, list, show and remove
registrations. Registering checks the service (its document fetched and compiled, or its
tools listed) and answers 422 naming what is wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from api.auth import Role
from api.http import base_url
from api.operation import LOCATION, Operations, Reply, Response

if TYPE_CHECKING:
    import azure.functions as func

    from api.schemas import ServiceAddQuery, ServiceName, ServiceQuery, ServiceSpec

bp = df.Blueprint()
http = Operations(bp, tag="services")


@http.post(
    "services",
    "registerService",
    role=Role.ADMIN,
    responses={201: Response("ServiceView", "Registered", headers=LOCATION)},
    problems=(409, 422),
)
async def register_service(
    body: ServiceSpec, query: ServiceAddQuery, req: func.HttpRequest
) -> Reply:
    """Register an MCP server or an OpenAPI service for agents to use."""
    from haymaker.errors import ConflictError
    from haymaker.integrations.access import ServiceAccess
    from haymaker.integrations.credentials import Credentials
    from haymaker.integrations.registration import register
    from haymaker.runtime import get_runtime

    runtime = get_runtime()
    if body.name in runtime.settings.mcp_servers:
        raise ConflictError(
            f"service {body.name} is defined by the HAYMAKER_MCP_SERVERS app setting"
        )
    stores = runtime.stores()
    if not query.replace and await stores.services.find(body.name) is not None:
        raise ConflictError(f"service {body.name} is already registered (add ?replace=true)")
    access = ServiceAccess(Credentials(runtime.settings), clock=runtime.clock)
    record = await register(body, access)
    await stores.services.add(record, replace=query.replace)
    location = f"{base_url(req)}/{body.name}"
    return Reply(record.view(), 201, headers={"Location": location})


@http.get(
    "services",
    "listServices",
    role=Role.READER,
    responses={200: Response("ServiceList", "A page of registered services")},
    problems=(422,),
)
async def list_services(query: ServiceQuery) -> Reply:
    """List registered services, a page at a time."""
    from api.schemas import ServiceList
    from haymaker.runtime import get_runtime

    page = (
        await get_runtime()
        .stores()
        .services.list(limit=query.limit, continuation=query.continuation)
    )
    return Reply(
        ServiceList(items=[record.view() for record in page.items], continuation=page.continuation)
    )


@http.get(
    "services/{service_name}",
    "getService",
    role=Role.READER,
    responses={200: Response("ServiceView", "The service and its tools")},
    problems=(404,),
)
async def get_service(service_name: ServiceName) -> Reply:
    """A registered service, its tools and the operations left out."""
    from haymaker.runtime import get_runtime

    record = await get_runtime().stores().services.get(service_name)
    return Reply(record.view())


@http.delete(
    "services/{service_name}",
    "removeService",
    role=Role.ADMIN,
    responses={200: Response("ServiceDeleted", "Removed")},
    problems=(404,),
)
async def remove_service(service_name: ServiceName) -> Reply:
    """Remove a registration (deployments that listed it keep what they listed)."""
    from api.schemas import ServiceDeleted
    from haymaker.runtime import get_runtime

    await get_runtime().stores().services.remove(service_name)
    return Reply(ServiceDeleted(name=service_name))
