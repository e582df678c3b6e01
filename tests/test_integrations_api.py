"""/api/services and `haymaker service ...` on the real local host: registering an OpenAPI
service (its document fetched from a service on 127.0.0.1) and an MCP server, the 409s and
422s, show, list and remove."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.api import call, expect_problem
from tests.support.mcp_server import McpTestServer
from tests.support.openapi_service import DOCUMENT, PetService, serve_pets


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture
async def pets() -> AsyncIterator[PetService]:
    async with serve_pets() as service:
        yield service


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[McpTestServer]:
    running = McpTestServer().start()
    yield running
    running.stop(force=False)


def openapi_body(pets: PetService, name: str = "pets", **fields) -> dict:
    return {"name": name, "kind": "openapi", "url": pets.document_url,
            "allowed_hosts": ["127.0.0.1"], **fields}  # fmt: skip


async def test_register_show_list_and_remove_an_openapi_service(api, pets: PetService):
    body = openapi_body(
        pets, "pets-api", operations=["getPet", "createPet"], rate_limit_per_minute=30
    )
    code, view, response = await call(api, "POST", "/api/services", json=body)
    assert code == 201, view
    assert response.headers["Location"].endswith("/api/services/pets-api")
    assert view["name"] == "pets-api"
    assert view["title"] == "Pet store"
    assert view["base_url"] == f"{pets.url}/v1"
    assert [(t["name"], t["method"], t["side_effects"]) for t in view["tools"]] == [
        ("createPet", "POST", True),
        ("getPet", "GET", False),
    ]
    assert view["spec"]["rate_limit_per_minute"] == 30
    assert pets.requests[0].path_qs == "/openapi.json"

    code, shown, _ = await call(api, "GET", "/api/services/pets-api")
    assert (code, shown) == (200, view)
    code, listed, _ = await call(api, "GET", "/api/services")
    assert code == 200
    assert "pets-api" in [item["name"] for item in listed["items"]]

    await expect_problem(api, "POST", "/api/services", 409, json=body)
    code, replaced, _ = await call(
        api, "POST", "/api/services?replace=true", json={**body, "operations": ["getPet"]}
    )
    assert code == 201
    assert [t["name"] for t in replaced["tools"]] == ["getPet"]

    code, removed, _ = await call(api, "DELETE", "/api/services/pets-api")
    assert (code, removed) == (200, {"name": "pets-api", "deleted": True})
    await expect_problem(api, "GET", "/api/services/pets-api", 404)
    await expect_problem(api, "DELETE", "/api/services/pets-api", 404)


async def test_register_an_mcp_server(api, mcp_server: McpTestServer):
    body = {"name": "tools", "kind": "mcp", "url": mcp_server.url, "tools": ["add", "echo"],
            "allowed_hosts": ["127.0.0.1"]}  # fmt: skip
    code, view, _ = await call(api, "POST", "/api/services", json=body)
    assert code == 201, view
    assert [(t["name"], t["side_effects"]) for t in view["tools"]] == [
        ("add", True),
        ("echo", False),
    ]
    await call(api, "DELETE", "/api/services/tools")


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"operations": ["getPet", "adoptPet"]}, 422,
         "operations names operation adoptPet, which the document lacks"),
        ({"url": "{pets}/broken.json"}, 422, "is neither JSON nor YAML"),
        ({"allowed_hosts": []}, 422, "127.0.0.1 is a loopback address"),
        ({"auth": {"type": "bearer", "setting": "AzureWebJobsStorage"}}, 422, "auth.bearer.setting"),
        ({"kind": "mcp"}, 422, "MCP server pets could not be listed"),
        ({"auth": {"type": "bearer", "setting": "SERVICE_UNSET"}}, 422,
         "service pets: app setting SERVICE_UNSET is not set"),
    ],
)  # fmt: skip
async def test_a_registration_that_does_not_check_out_is_a_problem(
    api, pets: PetService, change: dict, status: int, detail: str
):
    body = openapi_body(pets, **change)
    if isinstance(body.get("url"), str):
        body["url"] = body["url"].replace("{pets}", pets.url)
    if change.get("kind") == "mcp":
        body.update(url=f"{pets.url}/not-mcp", operations=["x"])
    problem = await expect_problem(api, "POST", "/api/services", status, json=body)
    assert detail in problem["detail"], problem
    await expect_problem(api, "GET", "/api/services/pets", 404)


# --- the CLI -----------------------------------------------------------------------------


def test_the_cli_adds_shows_lists_and_removes_services(
    run, tmp_path: Path, mcp_server: McpTestServer
):
    document = tmp_path / "pets.json"
    document.write_text(json.dumps(DOCUMENT))
    added = run("service", "add", "cli-pets", "--openapi-file", str(document),
                "--base-url", "http://127.0.0.1:9/v1", "--tag", "admin",
                "--api-key-setting", "SERVICE_PETS_KEY", "--header", "X-API-Key",
                "--rate-limit", "10", "--approval", "side_effects")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Service: cli-pets (openapi)" in added.output
    assert "Auth:       api_key (SERVICE_PETS_KEY)" in added.output
    assert "Rate limit: 10 calls a minute" in added.output
    assert "createPet" in added.output
    assert "deletePet" in added.output
    assert "getPet" not in added.output

    tools = run("service", "add", "cli-tools", "--mcp", mcp_server.url, "--allow-host", "127.0.0.1",
                "--operation", "echo")  # fmt: skip
    assert tools.exit_code == 0, tools.output
    listed = run("service", "list")
    assert listed.exit_code == 0
    assert "cli-pets" in listed.output
    assert "cli-tools" in listed.output
    shown = json.loads(run("service", "show", "cli-tools", "--json").output)
    assert [tool["name"] for tool in shown["tools"]] == ["echo"]

    missing = run("service", "add", "cli-bad", "--openapi-file", str(document),
                  "--base-url", "http://127.0.0.1:9/v1", "--operation", "adoptPet")  # fmt: skip
    assert missing.exit_code != 0
    assert "adoptPet" in missing.output
    both = run("service", "add", "x1", "--mcp", mcp_server.url, "--openapi", "http://a/b")
    assert both.exit_code == 2

    for name in ("cli-pets", "cli-tools"):
        removed = run("service", "remove", name, "--yes")
        assert removed.exit_code == 0, removed.output
    assert run("service", "show", "cli-pets").exit_code != 0
