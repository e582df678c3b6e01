"""OpenAPI services: a document compiled at registration (JSON 3.1 and YAML 3.0, local $refs,
allow-lists, the 422s), and OpenApiToolSource calling a real aiohttp service on 127.0.0.1
(GET with path, query and header parameters, POST with a JSON body, 404/500, limits,
credentials from app settings that never reach the model or the logs)."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from haymaker.integrations.access import ServiceAccess
from haymaker.integrations.credentials import Credentials
from haymaker.integrations.models import ServiceRecord, ServiceSpec
from haymaker.integrations.openapi import OpenApiToolSource, listing_of
from haymaker.integrations.openapi_document import RegistrationError
from haymaker.integrations.registration import register
from haymaker.settings import Settings
from haymaker.tools import ToolContext, ToolLimits
from tests.support.openapi_service import DOCUMENT, PetService, serve_pets

KEY = "pets-api-key-0123456789-secret"


@pytest.fixture
async def pets() -> AsyncIterator[PetService]:
    async with serve_pets() as service:
        yield service


def access(**env: str) -> ServiceAccess:
    settings = Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **env})
    return ServiceAccess(Credentials(settings))


def spec(pets: PetService, **fields: Any) -> ServiceSpec:
    return ServiceSpec.model_validate(
        {"name": "pets", "kind": "openapi", "url": pets.document_url,
         "allowed_hosts": ["127.0.0.1"], **fields}
    )  # fmt: skip


async def source_for(pets: PetService, env: dict[str, str] | None = None, **fields: Any):
    service_access = access(**(env or {}))
    record = await register(spec(pets, **fields), service_access)
    return OpenApiToolSource(listing_of(record, service_access), service_access)


def context(**limits: Any) -> ToolContext:
    return ToolContext(deployment_id="dep-api", limits=ToolLimits(**limits))


# --- compiling the document --------------------------------------------------------------


async def test_every_operation_becomes_a_tool_with_its_arguments(pets: PetService):
    record = await register(spec(pets), access())
    api = record.api
    assert api is not None
    assert (api.title, api.version, api.base_url) == ("Pet store", "1.2.3", f"{pets.url}/v1")
    by_name = {op.tool: op for op in api.operations}
    assert sorted(by_name) == [
        "bigReport", "crash", "createPet", "deletePet", "getPet", "listPets", "searchPets",
        "slow", "whoami",
    ]  # fmt: skip
    assert record.skipped == [
        "uploadPhoto: its request body is multipart/form-data; only JSON bodies are supported"
    ]
    get_pet = by_name["getPet"]
    # a path-level parameter, through its $ref
    assert get_pet.input_schema == {
        "type": "object",
        "properties": {"pet_id": {"type": "integer", "description": "The pet's id"}},
        "required": ["pet_id"],
        "additionalProperties": False,
    }
    assert get_pet.description == "GET /pets/{pet_id}: One pet"
    listing = by_name["listPets"].input_schema["properties"]
    assert set(listing) == {"limit", "tags", "X-Trace"}
    body = by_name["createPet"].input_schema["properties"]["body"]
    assert body["required"] == ["name"]
    assert body["properties"]["name"] == {"type": "string", "maxLength": 50}
    # a schema that refers to itself is cut where it would repeat
    owner = body["properties"]["owner"]
    assert owner["properties"]["friend"]["description"] == "a Owner (recursive; see above)"
    assert by_name["createPet"].input_schema["required"] == ["body"]
    assert "$ref" not in json.dumps(api.model_dump())


async def test_side_effects_follow_the_method_and_read_only(pets: PetService):
    source = await source_for(pets, read_only=["searchPets"], approval="side_effects")
    infos = {info.name: info for info in await source.list_tools()}
    assert not infos["listPets"].side_effects
    assert not infos["listPets"].requires_approval
    assert infos["createPet"].side_effects
    assert infos["createPet"].requires_approval
    assert infos["deletePet"].side_effects
    assert not infos["searchPets"].side_effects  # a POST the registration says is safe


async def test_an_openapi_30_yaml_document_becomes_json_schema(pets: PetService):
    record = await register(spec(pets, url=f"{pets.url}/openapi.yaml"), access())
    assert record.api is not None
    create = next(op for op in record.api.operations if op.tool == "createPet")
    tag = create.input_schema["properties"]["body"]["properties"]["tag"]
    assert tag == {"type": ["string", "null"], "examples": ["cat"]}


async def test_allow_lists_by_operation_id_and_tag_with_a_prefix(pets: PetService):
    record = await register(
        spec(pets, operations=["whoami"], tags=["admin"], prefix="pets_"), access()
    )
    assert record.api is not None
    assert [op.tool for op in record.api.operations] == [
        "pets_createPet", "pets_deletePet", "pets_whoami"
    ]  # fmt: skip
    assert record.skipped == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"operations": ["getPet", "adoptPet"]},
            "operations names operation adoptPet, which the document lacks",
        ),
        ({"tags": ["toys"]}, "tags names tag toys, which the document lacks"),
        ({"read_only": ["nope"]}, "read_only names operation nope, which the document lacks"),
        (
            {"operations": ["uploadPhoto"]},
            "operation uploadPhoto: its request body is multipart/form-data",
        ),
    ],
)
async def test_an_allow_list_naming_what_the_document_lacks_is_refused(
    pets: PetService, fields: dict[str, Any], message: str
):
    with pytest.raises(RegistrationError) as caught:
        await register(spec(pets, **fields), access())
    assert message in caught.value.detail
    assert caught.value.status == 422


def with_change(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    change(document)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"openapi": "3.1.0", "paths": [', "the document given is neither JSON nor YAML"),
        ("- just\n- a list\n", "the document given is not a JSON or YAML object"),
        (
            {"swagger": "2.0", "info": {}, "paths": {}},
            "is not OpenAPI 3.0 or 3.1 (no openapi field)",
        ),
        (
            with_change(
                lambda d: d["paths"]["/crash"]["get"].update(
                    parameters=[{"name": "q", "in": "query"}]
                )
            ),
            "is not valid OpenAPI 3.1.0: /paths//crash/get/parameters/0: ",
        ),
        (
            with_change(
                lambda d: d["paths"]["/crash"]["get"].update(
                    parameters=[{"$ref": "other.yaml#/components/parameters/Id"}]
                )
            ),
            "other.yaml#/components/parameters/Id",
        ),
        (with_change(lambda d: d.pop("servers")), "the document names no server: set base_url"),
    ],
)
async def test_a_document_that_does_not_parse_or_validate_is_refused(document: Any, message: str):
    given = ServiceSpec(name="pets", kind="openapi", document=document)
    with pytest.raises(RegistrationError) as caught:
        await register(given, access())
    assert message in caught.value.detail


async def test_a_document_that_cannot_be_fetched_is_refused(pets: PetService):
    for url, message in (
        (f"{pets.url}/broken.json", "is neither JSON nor YAML"),
        (f"{pets.url}/nothing.json", "could not be fetched: HTTP 404"),
    ):
        with pytest.raises(RegistrationError, match=message):
            await register(spec(pets, url=url), access())
    # the host rules hold at registration too
    with pytest.raises(RegistrationError, match=r"127\.0\.0\.1 is a loopback address"):
        await register(spec(pets, allowed_hosts=[]), access())


async def test_an_inline_document_needs_base_url_when_its_server_is_relative():
    given = ServiceSpec(name="pets", kind="openapi", document=DOCUMENT)
    with pytest.raises(RegistrationError, match="server '/v1' is not an absolute"):
        await register(given, access())
    with_base = given.model_copy(update={"base_url": "http://127.0.0.1:1/v1"})
    record = await register(with_base, access())
    assert record.spec.document is None  # the record keeps what it compiled to, not the document
    assert ServiceRecord.model_validate_json(record.model_dump_json()) == record


# --- calls -------------------------------------------------------------------------------


async def test_a_post_with_a_json_body_then_gets_with_path_query_and_header(pets: PetService):
    source = await source_for(pets)
    ctx = context()
    created = await source.call("createPet", {"body": {"name": "Rex", "tag": "dog"}}, ctx)
    assert not created.is_error
    assert created.content == (
        'HTTP 201 Created · application/json · 38 bytes\n\n{"name": "Rex", "tag": "dog", "id": 1}'
    )
    assert created.data["json"] == {"name": "Rex", "tag": "dog", "id": 1}
    post = pets.requests[-1]
    assert (post.method, post.path_qs) == ("POST", "/v1/pets")
    assert json.loads(post.body) == {"name": "Rex", "tag": "dog"}
    assert post.headers["Content-Type"] == "application/json"

    listed = await source.call(
        "listPets", {"limit": 5, "tags": ["dog", "cat"], "X-Trace": "t-1"}, ctx
    )
    assert listed.data["json"] == [{"name": "Rex", "tag": "dog", "id": 1}]
    assert pets.requests[-1].path_qs == "/v1/pets?limit=5&tags=dog&tags=cat"
    assert pets.requests[-1].headers["X-Trace"] == "t-1"
    one = await source.call("getPet", {"pet_id": 1}, ctx)
    assert one.data["json"]["name"] == "Rex"
    assert ctx.logs == [
        ("info", "createPet: POST 127.0.0.1/v1/pets: HTTP 201, 38 bytes"),
        ("info", "listPets: GET 127.0.0.1/v1/pets: HTTP 200, 40 bytes"),
        ("info", "getPet: GET 127.0.0.1/v1/pets/{pet_id}: HTTP 200, 38 bytes"),
    ]


async def test_http_errors_are_error_outcomes_the_model_sees(pets: PetService):
    source = await source_for(pets)
    missing = await source.call("getPet", {"pet_id": 9}, context())
    assert missing.is_error
    assert (
        missing.content
        == 'HTTP 404 Not Found · application/json · 24 bytes\n\n{"error": "no such pet"}'
    )
    crashed = await source.call("crash", {}, context())
    assert crashed.is_error
    assert (
        crashed.content
        == "HTTP 500 Internal Server Error · text/plain · 16 bytes\n\ninternal trouble"
    )


async def test_invalid_arguments_are_never_sent(pets: PetService):
    source = await source_for(pets)
    before = len(pets.requests)
    outcome = await source.call("createPet", {"body": {"tag": "dog"}, "color": "red"}, context())
    assert outcome.is_error
    assert outcome.content.startswith("invalid arguments for createPet: ")
    assert "body: 'name' is a required property" in outcome.content
    assert "has properties the schema does not allow" in outcome.content
    too_many = await source.call("listPets", {"limit": 500}, context())
    assert too_many.content == "invalid arguments for listPets: limit: breaks maximum 100"
    header = await source.call("listPets", {"X-Trace": "tr\u00e4ce"}, context())
    assert header.content == "invalid arguments for listPets: X-Trace must be ASCII text"
    assert len(pets.requests) == before


async def test_a_long_answer_is_cut_for_the_model_and_kept_whole(pets: PetService):
    source = await source_for(pets)
    outcome = await source.call("bigReport", {}, context(max_content_chars=1000))
    assert outcome.truncated
    assert len(outcome.content) < 1100
    assert outcome.full_content is not None
    assert outcome.full_content.count("row\n") == 20_000


async def test_a_slow_service_times_out(pets: PetService):
    source = await source_for(pets, timeout_seconds=0.5)
    outcome = await source.call("slow", {}, context())
    assert outcome.content == "GET 127.0.0.1/v1/slow failed: no complete answer within 0.5 seconds"
    assert outcome.data == {"failure": "timeout", "sent": True, "retryable": True}  # a GET
    post = await (
        await source_for(pets, timeout_seconds=30, base_url="http://127.0.0.1:9/v1")
    ).call("createPet", {"body": {"name": "Rex"}}, context())
    assert post.data == {"failure": "unreachable", "sent": False, "retryable": True}


@pytest.mark.parametrize(
    ("auth", "env", "sent"),
    [
        ({"type": "api_key", "setting": "SERVICE_PETS_KEY", "header": "X-API-Key"},
         {"SERVICE_PETS_KEY": KEY}, ("x_api_key", KEY)),
        ({"type": "api_key", "setting": "SERVICE_PETS_KEY", "query": "key"},
         {"SERVICE_PETS_KEY": KEY}, ("query", {"key": KEY})),
        ({"type": "bearer", "setting": "SERVICE_PETS_TOKEN"},
         {"SERVICE_PETS_TOKEN": KEY}, ("authorization", f"Bearer {KEY}")),
    ],
)  # fmt: skip
async def test_credentials_from_app_settings_never_reach_the_model_or_the_logs(
    pets: PetService,
    caplog: pytest.LogCaptureFixture,
    auth: dict[str, Any],
    env: dict[str, str],
    sent: tuple[str, Any],
):
    caplog.set_level(logging.DEBUG)
    source = await source_for(pets, env, auth=auth)
    ctx = context()
    outcome = await source.call("whoami", {}, ctx)
    field, value = sent
    echoed = json.loads(pets.requests[-1].body or "{}") or None  # GETs carry no body
    assert echoed is None
    # the service got it ...
    request = pets.requests[-1]
    if field == "query":
        assert request.path_qs == f"/v1/whoami?key={KEY}"
    else:
        header = "X-API-Key" if field == "x_api_key" else "Authorization"
        assert request.headers[header] == value
    # ... and echoed it back, which the model sees scrubbed
    assert "[redacted]" in outcome.content
    assert KEY not in outcome.content
    assert KEY not in json.dumps(outcome.data)
    assert KEY not in repr(ctx.logs)
    assert KEY not in caplog.text
    assert KEY not in source.listing.model_dump_json()


async def test_the_document_is_fetched_with_the_services_credentials_and_an_auth_parameter_is_not_an_argument(
    pets: PetService,
):
    auth = {"type": "api_key", "setting": "SERVICE_PETS_KEY", "query": "limit"}
    record = await register(spec(pets, auth=auth), access(SERVICE_PETS_KEY=KEY))
    assert pets.requests[0].path_qs == f"/openapi.json?limit={KEY}"
    assert record.api is not None
    list_pets = next(op for op in record.api.operations if op.tool == "listPets")
    assert "limit" not in list_pets.input_schema["properties"]  # the credential fills it
