"""Headless Chromium for the dashboard's tests: Debian's `chromium` driven by Playwright
(which cannot download a browser here), axe-core from node_modules run in the page, and
screenshots written where HAYMAKER_SCREENSHOTS says (`make screenshots`: docs/screenshots)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.azurite import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Without the background-networking flags Chromium dials Google's hosts at start, which this
# closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


def chromium_path() -> str:
    """Debian's chromium; missing is a failure in CI (.ci/run installs it), a skip elsewhere."""
    found = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
    pytest.skip("chromium is not installed: apt-get install -y chromium")


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)


def screenshot_dir() -> Path:
    configured = os.environ.get("HAYMAKER_SCREENSHOTS")
    folder = Path(configured) if configured else Path(tempfile.gettempdir()) / "haymaker-ui"
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@dataclass
class Watched:
    """A page and what went wrong in it: uncaught errors, console errors (CSP refusals among
    them) and dialogs (an alert() is what an injected script would do first)."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


def watch(page: Any) -> Watched:
    watched = Watched(page)
    page.on("pageerror", lambda error: watched.errors.append(f"pageerror: {error}"))

    def on_console(message: Any) -> None:
        # The browser logs every 4xx answer; those of the API are the page's to handle (an
        # endpoint this app does not serve), the dashboard's own files are checked below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            watched.errors.append(f"console: {message.text}")

    def on_response(response: Any) -> None:
        own_file = "/api/ui/" in response.url
        if response.status >= 500 or (own_file and response.status >= 400):
            watched.errors.append(f"{response.status} for {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return watched


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. The script goes in
    through the DevTools protocol, which the page's CSP does not govern."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return [violation for violation in result if violation["impact"] in SERIOUS]


def tab_through(page: Any, limit: int = 400) -> tuple[set[str], set[str]]:
    """Press Tab from the top until focus comes round again: (what focus reached, what can
    be operated). Elements are named by a path the page computes."""
    page.evaluate(
        """() => {
        let n = 0;
        for (const el of document.querySelectorAll('*')) el.dataset.tabProbe = String(n++);
        document.activeElement?.blur();
        window.scrollTo(0, 0);
    }"""
    )
    operable = set(
        page.evaluate(
            """() => [...document.querySelectorAll(
                'a[href], button, input, select, textarea, summary, [tabindex]')]
            .filter(el => !el.disabled && el.tabIndex >= 0 && !el.closest('[hidden], dialog:not([open])')
                && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
            .map(el => el.dataset.tabProbe)"""
        )
    )
    reached: set[str] = set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        probe = page.evaluate("() => document.activeElement?.dataset?.tabProbe ?? null")
        if probe is None or probe in reached:
            if reached:
                break
            continue
        reached.add(probe)
    return reached, operable
