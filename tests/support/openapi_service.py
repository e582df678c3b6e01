"""A real HTTP service on 127.0.0.1 described by an OpenAPI document it serves itself
(`/openapi.json`, 3.1; `/openapi.yaml`, the same API as a 3.0 YAML document), for the
integration tests. It records every request (method, path and query, headers, body)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml
from aiohttp import web

PET = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string", "maxLength": 50},
        "tag": {"type": "string"},
        "owner": {"$ref": "#/components/schemas/Owner"},
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Pet store", "version": "1.2.3"},
    "servers": [{"url": "/v1"}],
    "paths": {
        "/pets": {
            "get": {
                "operationId": "listPets",
                "summary": "List pets",
                "tags": ["pets"],
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                    {
                        "name": "tags",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "pets"}},
            },
            "post": {
                "operationId": "createPet",
                "summary": "Add a pet",
                "tags": ["pets", "admin"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                    },
                },
                "responses": {"201": {"description": "created"}},
            },
        },
        "/pets/{pet_id}": {
            "parameters": [{"$ref": "#/components/parameters/PetId"}],
            "get": {
                "operationId": "getPet",
                "summary": "One pet",
                "tags": ["pets"],
                "responses": {"200": {"description": "the pet"}, "404": {"description": "none"}},
            },
            "delete": {
                "operationId": "deletePet",
                "tags": ["admin"],
                "responses": {"204": {"description": "gone"}},
            },
        },
        "/search": {
            "post": {
                "operationId": "searchPets",
                "summary": "Search pets by a query object (no side effects)",
                "tags": ["pets"],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"q": {"type": "string"}}}
                        }
                    }
                },
                "responses": {"200": {"description": "found"}},
            }
        },
        "/upload": {
            "post": {
                "operationId": "uploadPhoto",
                "tags": ["media"],
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": {"type": "object"}}},
                },
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/crash": {
            "get": {"operationId": "crash", "responses": {"500": {"description": "always"}}}
        },
        "/whoami": {
            "get": {
                "operationId": "whoami",
                "summary": "Echo the credentials this request came with",
                "responses": {"200": {"description": "echo"}},
            }
        },
        "/big": {"get": {"operationId": "bigReport", "responses": {"200": {"description": "x"}}}},
        "/slow": {"get": {"operationId": "slow", "responses": {"200": {"description": "late"}}}},
    },
    "components": {
        "parameters": {
            "PetId": {
                "name": "pet_id",
                "in": "path",
                "required": True,
                "description": "The pet's id",
                "schema": {"type": "integer"},
            }
        },
        "schemas": {
            "Pet": PET,
            "Owner": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "friend": {"$ref": "#/components/schemas/Owner"},
                },
            },
        },
    },
}


def document_30() -> dict[str, Any]:
    """The same API as OpenAPI 3.0: `nullable` where 3.1 writes a type list."""
    document = copy.deepcopy(DOCUMENT)
    document["openapi"] = "3.0.3"
    document["components"]["schemas"]["Pet"]["properties"]["tag"] = {
        "type": "string",
        "nullable": True,
        "example": "cat",
    }
    return document


@dataclass
class Request:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: str


@dataclass
class PetService:
    url: str
    requests: list[Request] = field(default_factory=list)
    pets: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def document_url(self) -> str:
        return f"{self.url}/openapi.json"


def _app(service: PetService) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.text()
        service.requests.append(
            Request(request.method, request.path_qs, dict(request.headers), body)
        )
        return await handler(request)

    @routes.get("/openapi.json")
    async def document(request: web.Request) -> web.Response:
        return web.json_response(DOCUMENT)

    @routes.get("/openapi.yaml")
    async def document_yaml(request: web.Request) -> web.Response:
        return web.Response(text=yaml.safe_dump(document_30()), content_type="application/yaml")

    @routes.get("/broken.json")
    async def broken(request: web.Request) -> web.Response:
        return web.Response(text='{"openapi": "3.1.0", "paths": [', content_type="application/json")

    @routes.get("/v1/pets")
    async def list_pets(request: web.Request) -> web.Response:
        pets = list(service.pets.values())
        wanted = request.query.getall("tags", [])
        if wanted:
            pets = [pet for pet in pets if pet.get("tag") in wanted]
        return web.json_response(pets[: int(request.query.get("limit", 100))])

    @routes.post("/v1/pets")
    async def create_pet(request: web.Request) -> web.Response:
        pet = await request.json()
        pet["id"] = len(service.pets) + 1
        service.pets[pet["id"]] = pet
        return web.json_response(pet, status=201)

    @routes.get("/v1/pets/{pet_id}")
    async def get_pet(request: web.Request) -> web.Response:
        pet = service.pets.get(int(request.match_info["pet_id"]))
        if pet is None:
            return web.json_response({"error": "no such pet"}, status=404)
        return web.json_response(pet)

    @routes.delete("/v1/pets/{pet_id}")
    async def delete_pet(request: web.Request) -> web.Response:
        service.pets.pop(int(request.match_info["pet_id"]), None)
        return web.Response(status=204)

    @routes.post("/v1/search")
    async def search(request: web.Request) -> web.Response:
        query = (await request.json()).get("q", "")
        return web.json_response([p for p in service.pets.values() if query in p["name"]])

    @routes.get("/v1/crash")
    async def crash(request: web.Request) -> web.Response:
        return web.Response(status=500, text="internal trouble")

    @routes.get("/v1/whoami")
    async def whoami(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "authorization": request.headers.get("Authorization"),
                "x_api_key": request.headers.get("X-API-Key"),
                "query": dict(request.query),
            }
        )

    @routes.get("/v1/big")
    async def big(request: web.Request) -> web.Response:
        return web.Response(text="row\n" * 20_000, content_type="text/plain")

    @routes.get("/v1/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@asynccontextmanager
async def serve_pets() -> AsyncIterator[PetService]:
    service = PetService(url="")
    runner = web.AppRunner(_app(service), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    service.url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document)
