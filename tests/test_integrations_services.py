"""Registrations and what deployments keep, on real Azurite: the services and tool-listings
stores, per-service rate limits shared by two deployments, and the factory the agent runtime
calls (sources listed once per deployment, built again from what was kept)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from haymaker.errors import ConfigError, ConflictError, PayloadTooLargeError
from haymaker.integrations.access import ServiceAccess
from haymaker.integrations.credentials import Credentials
from haymaker.integrations.factory import open_integrations
from haymaker.integrations.mcp import McpUnavailable
from haymaker.integrations.models import (
    OpenApiApi,
    OpenApiOperation,
    ServiceRecord,
    ServiceSpec,
)
from haymaker.integrations.openapi import OpenApiToolSource, listing_of
from haymaker.integrations.registration import register
from haymaker.settings import Settings
from haymaker.store import Stores
from haymaker.store.services import ServiceNotFoundError
from haymaker.tools import ToolContext, ToolDeferred
from tests.support.mcp_server import McpTestServer
from tests.support.openapi_service import PetService, serve_pets

NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)


@pytest.fixture
async def pets() -> AsyncIterator[PetService]:
    async with serve_pets() as service:
        yield service


@pytest.fixture
def mcp_server() -> Iterator[McpTestServer]:
    running = McpTestServer().start()
    yield running
    running.stop()


def settings(**env: str) -> Settings:
    return Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **env})


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def pets_spec(pets: PetService, **fields: Any) -> ServiceSpec:
    return ServiceSpec.model_validate(
        {"name": "pets", "kind": "openapi", "url": pets.document_url,
         "allowed_hosts": ["127.0.0.1"], **fields}
    )  # fmt: skip


# --- the services store ------------------------------------------------------------------


async def test_registrations_are_stored_listed_replaced_and_removed(
    stores: Stores, pets: PetService
):
    record = await register(pets_spec(pets), ServiceAccess(Credentials(settings())))
    await stores.services.add(record)
    assert await stores.services.get("pets") == record
    with pytest.raises(ConflictError, match="service pets is already registered"):
        await stores.services.add(record)
    narrower = await register(
        pets_spec(pets, operations=["getPet"]), ServiceAccess(Credentials(settings()))
    )
    await stores.services.add(narrower, replace=True)
    page = await stores.services.list()
    assert [item.spec.operations for item in page.items] == [["getPet"]]
    assert (await stores.services.remove("pets")).spec.name == "pets"
    assert await stores.services.find("pets") is None
    with pytest.raises(ServiceNotFoundError):
        await stores.services.get("pets")


def big_record(operations: int, schema_chars: int) -> ServiceRecord:
    filler = {"description": "x" * schema_chars}
    return ServiceRecord(
        spec=ServiceSpec(name="big", kind="openapi", url="https://api.example.com/doc.json"),
        registered_at=NOW,
        api=OpenApiApi(
            base_url="https://api.example.com",
            document_sha256="0" * 64,
            operations=[
                OpenApiOperation(
                    tool=f"op{index}",
                    operation_id=f"op{index}",
                    method="GET",
                    path=f"/op/{index}",
                    input_schema={"type": "object", "properties": {"q": {**filler, "n": index}}},
                    side_effects=False,
                )
                for index in range(operations)
            ],
        ),
    )


async def test_a_record_larger_than_a_property_is_packed_across_several(stores: Stores):
    import os

    record = big_record(150, 2_000)
    # incompressible text too, so it spans more than one 64 KiB chunk
    record.api.operations[0].input_schema["properties"]["q"]["description"] = os.urandom(
        60_000
    ).hex()  # type: ignore[union-attr]
    await stores.services.add(record)
    assert await stores.services.get("big") == record
    huge = big_record(1, 0)
    huge.api.operations[0].input_schema["description"] = os.urandom(1_000_000).hex()  # type: ignore[union-attr]
    with pytest.raises(PayloadTooLargeError, match="service big is"):
        await stores.services.add(huge)


async def test_the_first_listing_kept_for_a_deployment_wins(stores: Stores, pets: PetService):
    access = ServiceAccess(Credentials(settings()))
    record = await register(pets_spec(pets), access)
    first = listing_of(record, access)
    later = first.model_copy(update={"listed_at": NOW})
    assert await stores.tool_listings.keep("dep-1", first) == first
    assert await stores.tool_listings.keep("dep-1", later) == first
    assert await stores.tool_listings.get("dep-1", "pets") == first
    assert await stores.tool_listings.get("dep-2", "pets") is None
    assert await stores.tool_listings.forget("dep-1") == 1
    assert await stores.tool_listings.get("dep-1", "pets") is None


# --- rate limits -------------------------------------------------------------------------


async def test_a_rate_limit_is_shared_by_deployments_and_defers_without_sending(
    stores: Stores, pets: PetService
):
    clock = Clock(NOW)
    access = ServiceAccess(Credentials(settings()), rate_limiter=stores.ratelimits, clock=clock)
    record = await register(pets_spec(pets, rate_limit_per_minute=3), access)
    first = OpenApiToolSource(listing_of(record, access), access)
    second = OpenApiToolSource(listing_of(record, access), access)  # another deployment's
    for source, deployment in ((first, "dep-a"), (second, "dep-b"), (first, "dep-a")):
        outcome = await source.call("listPets", {}, ToolContext(deployment_id=deployment))
        assert not outcome.is_error
    sent = len(pets.requests)
    with pytest.raises(ToolDeferred) as deferred:
        await second.call("listPets", {}, ToolContext(deployment_id="dep-b"))
    assert deferred.value.retry_at == NOW.replace(second=0) + timedelta(minutes=1)
    assert str(deferred.value) == "service pets allows 3 calls a minute"
    assert len(pets.requests) == sent
    # another service has a limit of its own
    other_record = await register(pets_spec(pets, name="pets-two", rate_limit_per_minute=1), access)
    other = OpenApiToolSource(listing_of(other_record, access), access)
    assert not (await other.call("listPets", {}, ToolContext(deployment_id="dep-b"))).is_error
    # the next minute lets calls through again
    clock.now = deferred.value.retry_at
    assert not (await second.call("listPets", {}, ToolContext(deployment_id="dep-b"))).is_error


async def test_invalid_arguments_use_none_of_the_limit(stores: Stores, pets: PetService):
    access = ServiceAccess(
        Credentials(settings()), rate_limiter=stores.ratelimits, clock=Clock(NOW)
    )
    record = await register(pets_spec(pets, rate_limit_per_minute=1), access)
    source = OpenApiToolSource(listing_of(record, access), access)
    ctx = ToolContext(deployment_id="dep-a")
    assert (await source.call("getPet", {"pet_id": "x"}, ctx)).is_error
    assert (await source.call("getPet", {"pet_id": 1}, ctx)).content.startswith("HTTP 404")


# --- the factory -------------------------------------------------------------------------


async def test_a_deployments_sources_are_listed_once_and_kept(
    stores: Stores, pets: PetService, mcp_server: McpTestServer
):
    app_servers = [{"name": "shared", "url": mcp_server.url, "tools": ["echo"],
                    "allowed_hosts": ["127.0.0.1"]}]  # fmt: skip
    app_settings = settings(HAYMAKER_MCP_SERVERS=json.dumps(app_servers))
    access = ServiceAccess(Credentials(app_settings), rate_limiter=stores.ratelimits)
    await stores.services.add(await register(pets_spec(pets, operations=["getPet"]), access))
    config = {
        "goal": "whatever the agent reads",
        "mcp_servers": [{"name": "own", "url": mcp_server.url, "tools": ["add"],
                         "allowed_hosts": ["127.0.0.1"]}],
        "services": ["pets", "shared"],
    }  # fmt: skip
    sources = await open_integrations(
        "dep-1", config, settings=app_settings, stores=stores, access=access
    )
    offered = {source.name: [info.name for info in await source.list_tools()] for source in sources}
    assert offered == {"own": ["add"], "pets": ["getPet"], "shared": ["echo"]}
    # a re-run after the server went away (and the registration changed) sees the same tools
    mcp_server.stop()
    await stores.services.remove("pets")
    again = await open_integrations(
        "dep-1", config, settings=app_settings, stores=stores, access=access
    )
    assert {s.name: [i.name for i in await s.list_tools()] for s in again} == offered
    # another deployment lists afresh
    with pytest.raises(McpUnavailable, match="MCP server own could not be listed"):
        await open_integrations("dep-2", config, settings=app_settings, stores=stores)
    with pytest.raises(ConfigError, match="no service pets is registered"):
        await open_integrations(
            "dep-2", {"services": ["pets"]}, settings=app_settings, stores=stores
        )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"services": ["nothing"]}, "no service nothing is registered"),
        ({"services": ["Bad Name"]}, "'Bad Name' is not a service name"),
        (
            {"mcp_servers": [{"name": "own", "url": "http://127.0.0.1:1/mcp",
                              "auth": {"type": "bearer", "setting": "SERVICE_X"}}]},
            "config mcp_servers.0.auth: Extra inputs are not permitted",
        ),
        (
            {"mcp_servers": [{"name": "own", "url": "http://127.0.0.1:1/mcp"},
                             {"name": "own", "url": "http://127.0.0.1:2/mcp"}]},
            "config names service own twice",
        ),
    ],
)  # fmt: skip
async def test_a_config_naming_services_wrongly_is_a_config_error(
    stores: Stores, config: dict[str, Any], message: str
):
    with pytest.raises(ConfigError) as caught:
        await open_integrations("dep-1", config, settings=settings(), stores=stores)
    assert message in caught.value.detail


async def test_a_config_naming_no_services_has_no_sources(stores: Stores):
    assert await open_integrations("dep-1", {"goal": "x"}, settings=settings(), stores=stores) == []
