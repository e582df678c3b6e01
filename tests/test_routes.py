"""Route templates as the local host reads them (ASP.NET syntax, as the Functions host)."""

from __future__ import annotations

import pytest

from devhost.routes import RouteError, compile_route


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("deployments", "/deployments", {}),
        ("deployments", "/deployments/", {}),
        ("deployments/{id}", "/deployments/abc", {"id": "abc"}),
        ("deployments/{id}", "/deployments/a%0Ab", {"id": "a%0Ab"}),
        ("deployments/{id}", "/deployments/a\nb", {"id": "a\nb"}),
        ("items/{id?}", "/items", {}),
        ("items/{id?}", "/items/7", {"id": "7"}),
        ("files/{*rest}", "/files/a/b/c", {"rest": "a/b/c"}),
        ("n/{id:int}", "/n/-12", {"id": "-12"}),
        ("n/{id:int:min(1)}", "/n/5", {"id": "5"}),
        ("n/{id:range(1,9)}", "/n/9", {"id": "9"}),
        ("w/{name:alpha}", "/w/Abc", {"name": "Abc"}),
        ("w/{name:length(2,3)}", "/w/abc", {"name": "abc"}),
        ("w/{flag:bool}", "/w/TRUE", {"flag": "TRUE"}),
        ("g/{id:guid}", "/g/6f1c8f3e-53a4-4b57-9d1c-1b3c0a6f2e11", None),
        ("d/{c:regex(^(stop|start)$)}", "/d/stop", {"c": "stop"}),
        ("d/{c:regex(^(stop|start)$)}", "/d/START", {"c": "START"}),  # case-insensitive
        ("d/{c:regex(op)}", "/d/stopped", {"c": "stopped"}),  # unanchored, as in ASP.NET
    ],
)
def test_matches(template: str, path: str, params: dict[str, str] | None) -> None:
    found = compile_route(template).match(path)
    assert found is not None
    if params is not None:
        assert found == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("deployments", "/deployment"),
        ("deployments/{id}", "/deployments"),
        ("deployments/{id}", "/deployments/a/b"),
        ("n/{id:int}", "/n/1.5"),
        ("n/{id:int:min(1)}", "/n/0"),
        ("n/{id:max(3)}", "/n/4"),
        ("n/{id:range(1,9)}", "/n/10"),
        ("w/{name:alpha}", "/w/ab1"),
        ("w/{name:minlength(3)}", "/w/ab"),
        ("w/{name:maxlength(2)}", "/w/abc"),
        ("w/{name:length(2)}", "/w/abc"),
        ("w/{flag:bool}", "/w/yes"),
        ("g/{id:guid}", "/g/not-a-guid"),
        ("d/{c:regex(^(stop|start)$)}", "/d/logs"),
    ],
)
def test_does_not_match(template: str, path: str) -> None:
    assert compile_route(template).match(path) is None


def test_a_literal_segment_takes_precedence_over_a_parameter() -> None:
    literal = compile_route("deployments/{id}/logs")
    parameter = compile_route("deployments/{id}/{command}")
    assert literal.precedence < parameter.precedence


@pytest.mark.parametrize(
    "template",
    ["a/x{id}", "a/{id:nope}", "a/{id:min(x)}", "a/{id:range(1)}", "a/{id:regex()}", "a/{id"],
)
def test_bad_templates_are_refused_with_the_reason(template: str) -> None:
    with pytest.raises(RouteError):
        compile_route(template)
