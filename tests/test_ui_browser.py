"""The dashboard in a real browser: headless Chromium (Debian's, through Playwright) against
the real app on the local host. Deploy from the form, watch it, stop, start, clean up after
the preview; approvals; schedules; the server's validation messages beside the fields; the
function key asked once; with App Service authentication, sign-in and controls by role;
text that looks like markup stays text; axe-core finds nothing serious on any page; every
control is reachable by keyboard. Each page's screenshot is written (HAYMAKER_SCREENSHOTS,
`make screenshots`: docs/screenshots)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.browser import (
    DESKTOP,
    PHONE,
    Watched,
    axe_violations,
    launch,
    screenshot,
    tab_through,
    watch,
)
from tests.support.host import HostProcess

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

WAIT_MS = 60_000  # for the page to catch up with a deployment (a bound, not a measure)
XSS = '<img src=x onerror="window.__xss=1;alert(1)">[/x]'
KEY = "dashboard-test-key-0123456789"
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


@pytest.fixture(scope="module")
def http(host) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=host.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def open_page(browser, url: str, **options: Any) -> tuple[Any, Watched]:
    context = browser.new_context(base_url=url, viewport=DESKTOP, **options)
    context.set_default_timeout(WAIT_MS)
    return context, watch(context.new_page())


@pytest.fixture
def page(browser, host) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage); whatever went wrong in it fails the test."""
    context, watched = open_page(browser, host.url)
    yield watched.page
    context.close()
    watched.assert_clean()


def visit(page, path: str) -> None:
    page.goto(f"/api/ui/{path}")
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("main[aria-busy]")).to_have_count(0)


def deploy(http, headers=None, **body: Any) -> str:
    body.setdefault("workload", "data-collector")
    response = http.post("/api/deployments", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["deployment_id"]


def wait_for(http, deployment_id: str, done, seconds: float = 60, headers=None) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        state = http.get(f"/api/deployments/{deployment_id}", headers=headers).json()
        if done(state):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def confirm(page, title: str, button: str) -> None:
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text(title)
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(page.locator("dialog[open]")).to_have_count(0)


# -- the lifecycle from the pages ---------------------------------------------------------


def test_deploy_from_the_form_then_stop_start_and_clean_up_after_the_preview(page, http):
    visit(page, "deploy")
    page.select_option("#workload", "data-collector")
    page.fill("#config-item_count", "60")
    page.fill("#config-batch_size", "2")
    page.fill("#config-item_delay_ms", "150")
    page.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(re.compile(r"/api/ui/deployments/data-collector-[0-9a-f]+$"))
    deployment_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text(deployment_id)
    expect(page.locator("#status")).to_contain_text("running")
    expect(page.locator("#log li").first).to_be_visible()

    page.click("#stop")
    confirm(page, "Stop this deployment?", "Stop")
    expect(page.locator("#status")).to_contain_text("stopped")
    stopped = http.get(f"/api/deployments/{deployment_id}").json()
    expect(page.locator("tr.wait-stopped")).to_contain_text("ongoing")
    expect(page.locator("#log")).to_contain_text("Stopped after")
    # The step after the start must begin past the gap that marks a stop in the timeline.
    time.sleep(max(0.0, 2.5 - (time.time() - _epoch(stopped["stopped_at"]))))

    page.click("#start")
    confirm(page, "Start this deployment?", "Start")
    expect(page.locator("#status")).to_contain_text("completed")
    expect(page.locator("tr.wait-stopped")).to_have_count(1)
    expect(page.locator("tr.wait-stopped")).not_to_contain_text("ongoing")
    expect(page.locator("#log")).to_contain_text("Deployment completed")
    expect(page.locator(".chart canvas")).to_have_count(1)

    page.click("#cleanup")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Cleanup would delete 60 resource(s)")
    expect(dialog.locator("ul.preview li")).to_have_count(60)
    confirm(page, "Clean up this deployment?", "Clean up")
    expect(page.locator("#phase")).to_have_text("phase cleaned_up")
    expect(page.locator("#s-resources").locator("..")).to_contain_text("None recorded.")
    final = http.get(f"/api/deployments/{deployment_id}").json()
    assert final["status"] == "completed"
    assert final["metadata"]["cleanup"]["resources_deleted"] == 60


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def budget_waiting(http) -> str:
    deployment_id = deploy(
        http,
        config={"item_count": 50, "batch_size": 5, "item_delay_ms": 0},
        budget={"max_steps": 2},
    )
    wait_for(http, deployment_id, lambda s: s["awaiting_approval"] is not None)
    return deployment_id


def test_a_deployment_waiting_for_approval_stands_out(page, http):
    deployment_id = budget_waiting(http)
    visit(page, "deployments")
    row = page.locator(f'tr[data-id="{deployment_id}"]')
    expect(row).to_have_class(re.compile(r"\bawaiting\b"))
    expect(row).to_contain_text("awaiting approval")
    row.get_by_role("link", name=deployment_id).click()
    approvals = page.locator("section", has=page.locator("#s-approvals"))
    expect(approvals).to_be_visible()
    expect(approvals).to_contain_text("budget exhausted")
    expect(approvals).to_have_class(re.compile(r"\battention\b"))


def test_approve_a_budget_raise_from_the_page(page, http):
    pytest.importorskip(
        "api.approvals", reason="the approvals API (branch approvals) is not merged"
    )
    deployment_id = budget_waiting(http)
    visit(page, f"deployments/{deployment_id}")
    approvals = page.locator("section", has=page.locator("#s-approvals"))
    approvals.locator("input[type=number]").fill("100")
    approvals.locator("textarea").fill("go on " + XSS)
    approvals.get_by_role("button", name="approve", exact=True).click()
    expect(page.locator("#status")).to_contain_text("completed")
    expect(approvals).to_contain_text("approve by")
    expect(approvals).to_contain_text(XSS)
    final = http.get(f"/api/deployments/{deployment_id}").json()
    assert final["budget"]["max_steps"] == 100
    assert page.evaluate("() => window.__xss") is None


# -- forms --------------------------------------------------------------------------------


def test_bad_input_shows_the_servers_messages_beside_the_fields(page):
    visit(page, "deploy")
    page.fill("#duration_hours", "0")
    page.fill("#budget-max_cost_usd", "-1")
    page.fill("#config-item_count", "5000")
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.locator("#duration_hours-error")).to_contain_text("greater than 0")
    expect(page.locator("#budget-max_cost_usd-error")).to_contain_text("greater than 0")
    expect(page.locator("#duration_hours")).to_have_attribute("aria-invalid", "true")
    page.fill("#duration_hours", "")
    page.fill("#budget-max_cost_usd", "")
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.locator("#config-item_count-error")).to_contain_text("less than or equal to 1000")
    expect(page.locator("#duration_hours-error")).to_be_hidden()
    assert page.url.endswith("/api/ui/deploy")


def test_the_form_follows_each_workloads_schema_and_its_own_keys(page):
    """m365-knowledge-worker: an array of enum values is a set of checkboxes; its config has
    a duration_hours of its own, whose message goes beside it, not beside the run's."""
    visit(page, "deploy?workload=m365-knowledge-worker")
    departments = page.locator("fieldset#config-departments input[type=checkbox]")
    expect(departments).to_have_count(6)
    for index in range(6):
        expect(departments.nth(index)).to_be_checked()
        departments.nth(index).uncheck()
    workers = page.locator("#config-workers")
    expect(workers).to_have_attribute("min", "1")
    expect(workers).to_have_attribute("max", "500")
    expect(page.locator("#config-dry_run")).to_be_checked()
    page.fill("#config-duration_hours", "0")
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.locator("#config-departments-error")).to_contain_text("at least 1")
    expect(page.locator("#config-duration_hours-error")).to_contain_text("greater than or equal")
    expect(page.locator("#duration_hours-error")).to_be_hidden()


def test_the_list_refreshes_in_place(page, http):
    """A refresh rewrites the cells that changed, in the rows it already has: no flicker, and
    the keyboard's place survives it."""
    deployment_id = deploy(http, config={"item_count": 30, "batch_size": 1, "item_delay_ms": 60})
    visit(page, "deployments")
    row = page.locator(f'tr[data-id="{deployment_id}"]')
    expect(row).to_be_visible()
    row.get_by_role("link").focus()
    row.evaluate("row => { row.kept = true; }")
    expect(row).to_contain_text("completed")
    assert row.evaluate("row => row.kept === true")
    assert page.evaluate("() => document.activeElement.textContent") == deployment_id


def test_create_a_schedule_from_the_form_then_disable_enable_and_run_it(page, http):
    visit(page, "schedules")
    page.select_option("#s-workload", "data-collector")
    page.fill("#s-cron", "every day")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.locator("#s-cron-error")).to_be_visible()
    cron = "0 0 3 * * *"
    page.fill("#s-cron", cron)
    page.fill("#s-config-item_count", "5")
    page.fill("#s-config-item_delay_ms", "0")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.locator("#s-cron-error")).to_be_hidden()
    row = page.locator("tbody tr", has_text=cron)
    expect(row).to_contain_text("enabled")
    expect(row.locator(".slots li")).to_have_count(3)
    row.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("disabled")
    row.get_by_role("button", name="Enable").click()
    expect(row).to_contain_text("enabled")
    row.get_by_role("button", name="Run now").click()
    run = row.locator(".runs a").first
    expect(run).to_be_visible()
    run.click()
    expect(page.locator("#status")).to_contain_text("completed")


# -- auth: a function key asked once; signed in, controls by role ------------------------


def principal(name: str, *roles: str) -> str:
    claims = [{"typ": "name", "val": name}] + [{"typ": "roles", "val": r} for r in roles]
    return base64.b64encode(json.dumps({"claims": claims}).encode()).decode()


@pytest.fixture(scope="module")
def keyed(storage_connection) -> Iterator[HostProcess]:
    """The app with function keys, as deployed without App Service authentication."""
    process = HostProcess(storage_connection, function_key=KEY).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def signed(storage_connection) -> Iterator[HostProcess]:
    """The app behind App Service authentication: the principal header is the credential
    (the host has a key, which this mode does not use)."""
    process = HostProcess(
        storage_connection, function_key=KEY, env={"HAYMAKER_AUTH_MODE": "easyauth"}
    ).start()
    yield process
    process.stop()


def test_the_key_is_asked_once_per_tab_and_holds_every_role(browser, keyed):
    with httpx.Client(base_url=keyed.url, headers={"x-functions-key": KEY}, timeout=30) as http:
        deployment_id = deploy(http, config={"item_count": 5, "item_delay_ms": 0})
        wait_for(http, deployment_id, lambda s: s["status"] == "completed", headers=None)
    context, watched = open_page(browser, keyed.url)
    page = watched.page
    page.goto("/api/ui/deployments")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Function key")
    dialog.locator("input").fill("not-the-key")
    dialog.get_by_role("button", name="Use key").click()
    expect(page.locator("dialog[open]")).to_contain_text("not accepted")
    page.locator("dialog[open] input").fill(KEY)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#who")).to_have_text("function key")
    expect(page.locator(f'tr[data-id="{deployment_id}"]')).to_be_visible()
    expect(page.get_by_role("link", name="Deploy a workload")).to_be_visible()

    page.reload()  # the tab keeps the key: nothing is asked again
    expect(page.locator(f'tr[data-id="{deployment_id}"]')).to_be_visible()
    expect(page.locator("dialog[open]")).to_have_count(0)
    visit(page, "schedules")
    expect(page.get_by_role("heading", name="New schedule")).to_be_visible()
    assert KEY not in page.content()
    context.close()
    watched.assert_clean()

    context, watched = open_page(browser, keyed.url)
    watched.page.goto("/api/ui/workloads")  # a new tab asks again
    expect(watched.page.locator("dialog[open]")).to_contain_text("Function key")
    context.close()


def test_a_browser_that_is_not_signed_in_is_sent_to_sign_in_and_back(browser, signed):
    context, watched = open_page(browser, signed.url)
    page = watched.page
    page.goto("/api/ui/schedules?x=1")
    link = page.locator("#sign-in")
    expect(link).to_have_text("Sign in with Microsoft Entra ID")
    expect(page.locator("dialog[open]")).to_have_count(0)  # no key is asked for
    back = quote("/api/ui/schedules?x=1", safe="")
    assert (
        link.get_attribute("href") == f"{signed.url}/.auth/login/aad?post_login_redirect_uri={back}"
    )
    assert axe_violations(page) == []
    context.close()
    watched.assert_clean()


def test_a_reader_sees_no_controls_and_may_sign_out(browser, signed):
    operator = {"x-ms-client-principal": principal("op@example.com", "Haymaker.Operator")}
    with httpx.Client(base_url=signed.url, headers=operator, timeout=30) as http:
        deployment_id = deploy(http, config={"item_count": 5, "item_delay_ms": 0})
        wait_for(http, deployment_id, lambda s: s["status"] == "completed", headers=operator)
    reader = {"x-ms-client-principal": principal("ann@example.com", "Haymaker.Reader")}
    context, watched = open_page(browser, signed.url, extra_http_headers=reader)
    page = watched.page
    page.goto("/api/ui/deployments")
    expect(page.locator("#who")).to_have_text("ann@example.com · Reader · Sign out")
    out = page.locator("#sign-out").get_attribute("href")
    assert out == f"{signed.url}/.auth/logout?post_logout_redirect_uri=%2Fapi%2Fui%2F"
    expect(page.locator(f'tr[data-id="{deployment_id}"]')).to_be_visible()
    expect(page.get_by_role("link", name="Deploy a workload")).to_have_count(0)
    page.get_by_role("link", name=deployment_id).click()
    expect(page.locator("#status")).to_contain_text("completed")
    expect(page.locator("#stop, #start, #cleanup")).to_have_count(0)
    visit(page, "schedules")
    expect(page.get_by_role("heading", name="New schedule")).to_have_count(0)
    visit(page, "deploy")
    expect(page.locator("main")).to_contain_text("needs the Haymaker.Operator role")
    expect(page.locator("dialog[open]")).to_have_count(0)
    context.close()
    watched.assert_clean()


def test_an_operator_sees_the_controls_an_approver_does_not_need(browser, signed):
    operator = {"x-ms-client-principal": principal("op@example.com", "Haymaker.Operator")}
    context, watched = open_page(browser, signed.url, extra_http_headers=operator)
    page = watched.page
    page.goto("/api/ui/deployments")
    expect(page.locator("#who")).to_have_text("op@example.com · Reader, Operator · Sign out")
    expect(page.get_by_role("link", name="Deploy a workload")).to_be_visible()
    visit(page, "schedules")
    expect(page.get_by_role("heading", name="New schedule")).to_have_count(0)
    context.close()
    watched.assert_clean()


# -- text stays text ----------------------------------------------------------------------


def test_markup_in_config_logs_and_tags_is_shown_as_text_and_never_runs(page, http):
    deployment_id = deploy(
        http, config={"item_count": 3, "item_delay_ms": 0, "goal": XSS}, tags={"note": XSS}
    )
    wait_for(http, deployment_id, lambda s: s["status"] == "completed")
    visit(page, f"deployments/{deployment_id}")
    expect(page.locator("#log")).to_contain_text(f"Goal: {XSS}")
    expect(page.locator(".details")).to_contain_text(XSS)
    expect(page.locator(".summary")).to_contain_text(XSS)
    visit(page, "deployments")
    page.fill("#f-search", XSS)
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("alert")).to_contain_text(XSS)
    assert page.locator("main img").count() == 0
    assert page.evaluate("() => window.__xss") is None


def agent_turn(request) -> dict[str, Any]:
    """The model of an agent whose words and tool call carry markup: it finishes at once,
    its summary the markup; anything else it is asked (the goal's evaluation) it affirms."""
    from tests.support.llm_replies import anthropic_message, text_block, tool_use_block

    if "tools" not in request.body:
        return anthropic_message(text_block("YES: " + XSS))
    return anthropic_message(
        text_block("Finishing: " + XSS),
        tool_use_block("toolu_x1", "finish", {"summary": XSS}),
        stop_reason="tool_use",
    )


@pytest.fixture(scope="module")
def agent_host(storage_connection) -> Iterator[HostProcess]:
    from tests.support.llm_stub import LLMStub

    stub = LLMStub().start()
    stub.respond = agent_turn
    env = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": "sk-ant-test-dashboard",
        "ANTHROPIC_BASE_URL": stub.url,
        "LLM_MAX_RETRIES": "0",
    }
    process = HostProcess(storage_connection, env=env).start()
    yield process
    process.stop()
    stub.stop()


def test_an_agents_transcript_shows_turns_tool_calls_and_usage_as_text(browser, agent_host):
    with httpx.Client(base_url=agent_host.url, timeout=30) as http:
        deployment_id = deploy(
            http, workload="goal-agent", config={"goal": "Say " + XSS, "tools": ["finish"]}
        )
        wait_for(http, deployment_id, lambda s: s["status"] in ("completed", "failed"))
        page_of = http.get(f"/api/deployments/{deployment_id}/transcript").json()
    roles = [entry["role"] for entry in page_of["items"]]
    assert roles[:3] == ["user", "assistant", "tool"], roles
    context, watched = open_page(browser, agent_host.url)
    page = watched.page
    visit(page, f"deployments/{deployment_id}")
    transcript = page.locator("#transcript")
    expect(transcript.locator("li.entry")).to_have_count(page_of["total"])
    user, assistant, tool = (transcript.locator("li.entry").nth(i) for i in range(3))
    expect(user.locator(".entry-content")).to_contain_text("Say " + XSS)
    expect(assistant.locator(".entry-content")).to_contain_text("Finishing: " + XSS)
    expect(assistant.locator(".entry-usage")).to_contain_text("10 in · 5 out")
    expect(assistant.locator(".tool-call summary")).to_contain_text("finish")
    assistant.locator(".tool-call summary").click()
    expect(assistant.locator(".tool-call pre")).to_contain_text('"summary"')
    expect(tool.locator(".tool-result summary")).to_contain_text("result of finish")
    expect(page.locator(".chart canvas")).to_have_count(1)
    assert page.locator("main img").count() == 0
    assert page.evaluate("() => window.__xss") is None
    screenshot(page, "transcript")
    context.close()
    watched.assert_clean()


# -- every page: accessibility, keyboard, screenshots -------------------------------------


@pytest.fixture(scope="module")
def shown(http) -> dict[str, str]:
    """Something on every page: a finished deployment with a timeline, and a schedule."""
    deployment_id = deploy(
        http, config={"item_count": 40, "batch_size": 4, "item_delay_ms": 5}, tags={"team": "ops"}
    )
    wait_for(http, deployment_id, lambda s: s["status"] == "completed")
    schedules = http.get("/api/schedules").json()["items"]
    if not schedules:
        http.post(
            "/api/schedules",
            json={
                "workload": "data-collector",
                "cron": "0 30 9 * * 1-5",
                "time_zone": "Europe/London",
            },
        ).raise_for_status()
    return {
        "deployments": "deployments",
        "deployment": f"deployments/{deployment_id}",
        "deploy": "deploy?workload=data-collector",
        "schedules": "schedules",
        "workloads": "workloads",
    }


PAGES = ["deployments", "deployment", "deploy", "schedules", "workloads"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_passes_axe_is_keyboard_reachable_and_is_pictured(page, shown, name):
    visit(page, shown[name])
    if name == "deployment":
        expect(page.locator(".chart canvas")).to_have_count(1)
    screenshot(page, name, full_page=name == "deployment")
    assert axe_violations(page) == []
    reached, operable = tab_through(page)
    assert operable - reached == set(), "controls the keyboard does not reach"
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    page.set_viewport_size(PHONE)
    expect(page.locator("main h1")).to_be_visible()
    assert axe_violations(page) == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways at phone width"
    if name in ("deployments", "deployment"):
        screenshot(page, f"{name}-phone")
