"""The dashboard as the app serves it (no browser here; tests/test_ui_browser.py drives one):
content types, CSP and caching of its files, pages by path, the packaged files and vendored
library against their sources, no markup or script built from text in its code, /api/me,
the timeline and resources endpoints, and state changes refused to other sites."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from api.ui import CONTENT_TYPES, MOUNT
from tests.support.api import call, deploy, expect_problem, state, wait_for
from tests.support.azurite import ROOT

UI = ROOT / "ui"
FILES = sorted(path for path in UI.rglob("*") if path.is_file() and path.suffix in CONTENT_TYPES)


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


# -- the files ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(UI)))
async def test_each_file_is_served_as_itself_with_its_type_csp_and_validator(api, path):
    name = path.relative_to(UI).as_posix()
    async with api.get(MOUNT + name) as response:
        body = await response.read()
        headers = response.headers
    assert response.status == 200
    assert body == path.read_bytes()
    assert headers["Content-Type"] == CONTENT_TYPES[path.suffix]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-cache"
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    async with api.get(MOUNT + name, headers={"If-None-Match": headers["ETag"]}) as again:
        assert again.status == 304
        assert await again.read() == b""


@pytest.mark.parametrize(
    "page", ["", "deployments", "deployments/data-collector-0123456789", "deploy?workload=x"]
)
async def test_every_page_of_the_dashboard_is_its_index(api, page):
    async with api.get(MOUNT + page) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert await response.read() == (UI / "index.html").read_bytes()
    async with api.get(MOUNT.rstrip("/")) as response:
        assert response.status == 200


@pytest.mark.parametrize("path", ["missing.js", "lib/nothing.css", "__init__.py", "../host.json"])
async def test_what_is_no_file_of_the_dashboard_is_not_found(api, path):
    async with api.get(MOUNT + path) as response:
        assert response.status == 404
        if not path.startswith(".."):  # that one the client resolves to /api/host.json
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_cli_prints_the_url_the_app_serves_the_dashboard_at():
    from haymaker_cli.dev import dashboard_url

    assert dashboard_url("http://127.0.0.1:7071") == "http://127.0.0.1:7071" + MOUNT


def test_a_path_out_of_the_folder_names_nothing():
    from api.ui import asset_for

    assert asset_for("../host.json") is None
    assert asset_for("lib/../../function_app.py") is None
    assert asset_for("deployments/../..") is None
    assert asset_for("app.js") is not None


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.base: str | None = None
        self.preloaded: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and "src" not in named:
            self.inline.append("an inline <script>")
        if tag == "style":
            self.inline.append("a <style> element")
        self.inline += [
            f"{tag}[{name}]" for name in named if name == "style" or name.startswith("on")
        ]
        if tag == "base":
            self.base = named.get("href")
        if tag == "link" and named.get("rel") == "modulepreload":
            self.preloaded.add(named.get("href") or "")


def test_the_page_has_no_inline_script_or_style_and_its_base_is_the_mount():
    markup = _Markup()
    markup.feed((UI / "index.html").read_text(encoding="utf-8"))
    assert markup.inline == []
    assert markup.base == MOUNT
    modules = {p.relative_to(UI).as_posix() for p in FILES if p.suffix == ".js"} - {"app.js"}
    assert markup.preloaded == modules, "index.html preloads every module (and no other file)"
    host = json.loads((ROOT / "host.json").read_text())
    assert f"/{host['extensions']['http']['routePrefix']}/ui/" == MOUNT


# Ways to turn text into markup or code. The dashboard builds nodes and sets textContent.
_UNSAFE = re.compile(
    r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setAttribute\(\s*[\"']on|\.cssText|setAttribute\(\s*[\"']style"
)


@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".js"], ids=lambda p: p.name)
def test_no_script_turns_text_into_markup(path):
    assert _UNSAFE.findall(path.read_text(encoding="utf-8")) == []


def test_the_vendored_library_is_the_pinned_npm_copy():
    """`make ui-vendor` copies it; a changed pin without the copy fails here."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["uplot"]
    assert lock["packages"]["node_modules/uplot"]["version"] == pinned
    for name in ("uPlot.esm.js", "uPlot.min.css"):
        packaged = (UI / "vendor" / name).read_bytes()
        assert packaged == (ROOT / "node_modules" / "uplot" / "dist" / name).read_bytes(), name
    assert f"(v{pinned})" in (UI / "vendor" / "uPlot.esm.js").read_text()[:400]


def test_the_files_are_packaged_with_the_app_and_the_distribution():
    import fnmatch
    import tomllib

    ignored = (ROOT / ".funcignore").read_text().split()
    assert not any(fnmatch.fnmatch("ui/index.html", pattern + "*") for pattern in ignored)
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "ui*" in setuptools["packages"]["find"]["include"]
    patterns = setuptools["package-data"]["ui"]
    for path in FILES:
        name = path.relative_to(UI).as_posix()
        assert any(
            fnmatch.fnmatch(name, p) and name.count("/") == p.count("/") for p in patterns
        ), name


# -- the endpoints the pages use ----------------------------------------------------------


async def test_me_without_authentication_holds_every_role(api):
    code, me, _ = await call(api, "GET", "/api/me")
    assert code == 200
    roles = {"Haymaker.Reader", "Haymaker.Operator", "Haymaker.Approver", "Haymaker.Admin"}
    assert {**me, "roles": set(me["roles"])} == {
        "name": None,
        "roles": roles,
        "credential": "none",
        "auth_mode": "off",
    }
    assert len(me["roles"]) == len(roles)


async def test_steps_are_the_timeline_with_metrics_and_page(api):
    deployment_id = await deploy(api, item_count=30, batch_size=10)
    final = await wait_for(api, deployment_id, "completed")
    code, page, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/steps")
    assert code == 200
    steps = page["items"]
    assert [s["step"] for s in steps] == list(range(final["usage"]["steps"]))
    assert [s["phase"] for s in steps] == ["initialize", *["collecting"] * 3, "report"]
    assert steps[-1]["outcome"] == "completed"
    assert [s["metrics"].get("items_collected") for s in steps[1:4]] == [10, 20, 30]
    assert page["cursor"] == steps[-1]["step"]
    assert page["waits"] == []
    code, rest, _ = await call(
        api, "GET", f"/api/deployments/{deployment_id}/steps?after=1&limit=2"
    )
    assert [s["step"] for s in rest["items"]] == [2, 3]
    assert rest["cursor"] == 3
    await expect_problem(api, "GET", "/api/deployments/data-collector-0000000000/steps", 404)
    await expect_problem(api, "GET", f"/api/deployments/{deployment_id}/steps?after=x", 400)


async def test_resources_page_through_what_a_deployment_created(api):
    deployment_id = await deploy(api, item_count=12, batch_size=4)
    await wait_for(api, deployment_id, "completed")
    code, first, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/resources?limit=10")
    assert code == 200
    assert len(first["items"]) == 10
    assert first["continuation"]
    code, second, _ = await call(
        api,
        "GET",
        f"/api/deployments/{deployment_id}/resources",
        params={"limit": "10", "continuation": first["continuation"]},
    )
    names = {r["name"] for r in first["items"] + second["items"]}
    assert len(names) == 12
    assert second["continuation"] is None
    await expect_problem(api, "GET", "/api/deployments/data-collector-0000000000/resources", 404)


async def test_another_site_cannot_make_a_browser_change_anything(api):
    deployment_id = await deploy(api, item_count=500, batch_size=5, item_delay_ms=20)
    await wait_for(api, deployment_id, "running")
    for site in ("cross-site", "same-site"):
        problem = await expect_problem(
            api,
            "POST",
            f"/api/deployments/{deployment_id}/stop",
            403,
            headers={"Sec-Fetch-Site": site, "Origin": "https://evil.example"},
        )
        assert site in problem["detail"]
        await expect_problem(
            api,
            "POST",
            "/api/deployments",
            403,
            json={"workload": "data-collector"},
            headers={"Sec-Fetch-Site": site},
        )
    assert (await state(api, deployment_id))["desired_status"] == "running"
    # A cross-site read gets nothing it could use: no CORS headers, and reads change nothing.
    code, _, response = await call(
        api, "GET", f"/api/deployments/{deployment_id}", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    code, stopped, _ = await call(
        api,
        "POST",
        f"/api/deployments/{deployment_id}/stop",
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert code == 202
    assert stopped["desired_status"] == "stopped"


# -- the waits of a timeline (the derivation itself) ---------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _mark(step, start, end, outcome="done"):
    from haymaker.models import StepMark

    at = lambda seconds: T0 + timedelta(seconds=seconds)  # noqa: E731
    return StepMark(
        step=step, phase="p", started_at=at(start), finished_at=at(end), outcome=outcome
    )


def _state(**changes):
    from haymaker.models import DeploymentState

    return DeploymentState(
        deployment_id="data-collector-0123456789", workload_name="w", created_at=T0, **changes
    )


def test_waits_are_pauses_approvals_and_stops_between_steps():
    from haymaker.approvals import Approval, ApprovalStatus, Decision
    from haymaker.timeline import waits

    decided = Approval(
        deployment_id="data-collector-0123456789",
        key="go",
        question="go on?",
        options=["approve", "reject"],
        requested_at=T0 + timedelta(seconds=21),
        on_timeout="reject",
        step=2,
        status=ApprovalStatus.DECIDED,
        decision=Decision(
            decision="approve", decided_by="ann", decided_at=T0 + timedelta(seconds=40)
        ),
    )
    marks = [
        _mark(0, 0, 1),
        _mark(1, 1.1, 2, "paused"),  # resumes at 10
        _mark(2, 10, 21, "asked_approval"),
        _mark(3, 40, 41),  # then stopped until 100
        _mark(4, 100, 101),
        _mark(5, 101.2, 102, "completed"),
    ]
    found = waits(marks, None, _state(status="completed"), None, [decided])
    assert [(w.kind, w.after_step, w.started_at, w.ended_at) for w in found] == [
        ("resume_at", 1, marks[1].finished_at, marks[2].started_at),
        ("approval", 2, decided.requested_at, decided.decision.decided_at),
        ("stopped", 3, marks[3].finished_at, marks[4].started_at),
    ]
    assert found[1].detail == "go: go on? → approve by ann"


def test_the_wait_after_the_last_step_is_what_the_state_waits_for():
    from haymaker.timeline import waits

    last = [_mark(0, 0, 1)]
    stopped = waits(
        last, None, _state(status="stopped", stopped_at=T0 + timedelta(seconds=3)), None, []
    )
    assert [(w.kind, w.started_at, w.ended_at) for w in stopped] == [
        ("stopped", T0 + timedelta(seconds=3), None)
    ]
    resume = T0 + timedelta(hours=1)
    paused = waits([_mark(0, 0, 1, "paused")], None, _state(status="running"), resume, [])
    assert [(w.kind, w.until, w.ended_at) for w in paused] == [("resume_at", resume, None)]
    running = waits(last, None, _state(status="running"), None, [])
    assert running == []
    # the step after the page ends the last wait of the page
    assert waits(last, _mark(1, 50, 51), _state(status="completed"), None, [])[0].ended_at == (
        T0 + timedelta(seconds=50)
    )


async def test_step_rows_keep_their_metrics_in_storage(stores):
    from haymaker.models import numeric_metrics

    mark = _mark(0, 0, 1).model_copy(
        update={"metrics": numeric_metrics({"items": 3, "ok": True, "rate": 0.5, "name": "x"})}
    )
    assert mark.metrics == {"items": 3, "rate": 0.5}
    await stores.logs.write("data-collector-0123456789", [], [mark])
    assert await stores.logs.steps("data-collector-0123456789") == [mark]
    bare = _mark(1, 1, 2)
    await stores.logs.write("data-collector-0123456789", [], [bare])
    assert (await stores.logs.steps("data-collector-0123456789", after=0))[0].metrics == {}
