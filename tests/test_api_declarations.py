"""The HTTP surface is declared once (api/operation.py): what handlers may read of a request,
what a declaration refuses, what an answer must match, and what importing the app costs.
tests/test_api.py checks the served document against the same declarations."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest

from api.operation import Reply, Response, declare
from tests.support.azurite import ROOT

APP_PACKAGES = ("api", "timers", "runs")


def _request_reads(path: Path) -> set[tuple[str, str]]:
    """(function, attribute) for every read of a request's query, route or body in a file."""
    tree = ast.parse(path.read_text())
    reads = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute) and node.attr in (
                "params",
                "route_params",
                "get_body",
                "get_json",
            ):
                reads.add((function.name, node.attr))
    return reads


def test_requests_are_read_only_by_the_declaration_machinery():
    """Handlers get the query only as their declared model, path parameters typed, and the
    body validated, so the document, generated from those declarations, names everything
    read: no module reads `params` (the drift that left `schedule_id` undocumented),
    `route_params` or the body itself, save the machinery and the function key's lookup."""
    reads = {
        f"{path.relative_to(ROOT)}:{function}.{attribute}"
        for package in APP_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for function, attribute in _request_reads(path)
    }
    assert reads == {
        "api/operation.py:parse_query.params",
        "api/operation.py:inputs.route_params",
        "api/http.py:read_body.get_body",
        # The key a caller may send as ?code=, the document's functionKeyQuery scheme.
        "api/auth.py:caller_key.params",
    }


def test_the_scan_finds_a_handler_reading_params(tmp_path):
    """The scan sees a read, so the assertion above can fail."""
    path = tmp_path / "handler.py"
    path.write_text("async def handler(req):\n    return req.params.get('schedule_id')\n")
    assert _request_reads(path) == {("handler", "params")}


async def _handler_without_route_parameter() -> Reply:
    """Summary."""
    return Reply({})


async def _handler_with_unknown_parameter(deployment_id: str, page: int) -> Reply:
    """Summary."""
    return Reply({})


async def _handler_without_docstring(deployment_id: str) -> Reply:
    return Reply({})


@pytest.mark.parametrize(
    ("handler", "route", "complaint"),
    [
        (_handler_without_route_parameter, "things/{deployment_id}", "must take the route"),
        (_handler_with_unknown_parameter, "things/{deployment_id}", "must take the route"),
        (_handler_without_docstring, "things/{deployment_id}", "needs a docstring"),
        (_handler_without_route_parameter, "things/{id:int}", "plain {name} parameters"),
    ],
)
def test_a_declaration_refuses_a_handler_that_does_not_fit(handler, route, complaint):
    with pytest.raises(TypeError, match=complaint):
        declare("GET", route, "getThing", "things", None, {200: Response(None, "ok")}, (), handler)


def _request(url: str = "http://127.0.0.1/api/things") -> func.HttpRequest:
    return func.HttpRequest("GET", url, headers={}, params={}, route_params={}, body=b"")


async def _answer(reply: Reply) -> func.HttpResponse:
    async def handler() -> Reply:
        """Summary."""
        return reply

    operation = declare(
        "GET",
        "things",
        "getThing",
        "things",
        None,
        {200: Response("Purged", "The purge")},
        (),
        handler,
    )
    return await operation.serve(_request(), None)


async def test_an_answer_the_declaration_does_not_cover_is_refused():
    from api.schemas import Purged, WorkloadList

    purged = Purged(deployment_id="data-collector-0123456789", log_lines=1, resource_records=2)
    assert (await _answer(Reply(purged))).status_code == 200
    for undeclared in (Reply(purged, 202), Reply(WorkloadList(items=[])), Reply({})):
        response = await _answer(undeclared)
        assert response.status_code == 500
        assert response.mimetype == "application/problem+json"


def test_importing_the_http_api_and_timers_loads_no_models_stores_or_pydantic():
    """Cold start: what the handlers alone need loads on the first request."""
    modules = [
        "api.deployments",
        "api.schedules",
        "api.workloads",
        "api.meta",
        "timers.scheduler",
        "timers.retention",
    ]
    code = (
        "import sys, json; import azure.functions, azure.durable_functions; "
        f"[__import__(m) for m in {modules!r}]; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'yaml', 'croniter') or m.startswith(('azure.core', 'azure.data', "
        "'haymaker.models', 'haymaker.store', 'haymaker.runtime', 'haymaker.settings', "
        "'api.schemas', 'api.parameters')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    ("mode", "level", "security"),
    [
        ("off", "FUNCTION", [{"functionKey": []}, {"functionKeyQuery": []}]),
        ("easyauth", "ANONYMOUS", [{"entraId": []}]),
    ],
)
def test_routes_that_need_a_role_take_the_credential_of_the_auth_mode(mode, level, security):
    """Keys by default; with App Service authentication the host is told nothing (it grants
    no key level to a signed-in caller) and the document asks for an Entra ID token. Health,
    the document and the dashboard are anonymous either way. Declared at import, so each mode
    is a fresh interpreter."""
    script = """
import json, function_app
from api.openapi import openapi_document
levels = {}
for function in function_app.app.get_functions():
    trigger = function.get_trigger()
    if trigger.get_binding_name() == "httpTrigger":
        levels[trigger.route] = str(trigger.auth_level).split(".")[-1]
print(json.dumps({"levels": levels, "security": openapi_document("x")["security"]}))
"""
    env = {"PATH": "/usr/bin:/bin", "HAYMAKER_AUTH_MODE": mode}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["security"] == security
    levels = found["levels"]
    for public in ("health", "openapi.json", "ui/{*path}"):
        assert levels.pop(public) == "ANONYMOUS"
    assert set(levels.values()) == {level}
