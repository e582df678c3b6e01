"""Whole runs in-process against a real local site: exactly which pages fail and why, with
every step re-run from the same inputs to prove that a retried step changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fake_site import FakeSite
from web_page_checker import WebPageCheckerWorkload

from haymaker_testing import StepRunner, run_workload

PAGES = ["/", "/about", "/error", "/slow", "/moved", "/plain", "/missing", "/loop"]
TIMEOUT = 0.5  # /slow never answers within it


@pytest.fixture(autouse=True)
def pinned(monkeypatch):
    """Every check takes 0 ms, so a step re-run from the same inputs has the same result
    (the one test that measures time unpins it)."""
    monkeypatch.setattr(WebPageCheckerWorkload, "stopwatch", staticmethod(lambda: 0.0))


def config(site: FakeSite, *paths: str, **overrides: object) -> dict[str, object]:
    return {
        "urls": [site.page(path) for path in paths or PAGES],
        "contains": "Welcome",
        "timeout_seconds": TIMEOUT,
        "batch_size": 3,
        **overrides,
    }


def failures(metadata: dict) -> dict[str, tuple[int | None, str]]:
    return {url: (f["status"], f["reason"]) for url, f in metadata["failures"].items()}


async def test_reports_exactly_the_pages_that_fail_and_why(site):
    result = await run_workload(WebPageCheckerWorkload, config(site), check_idempotent=True)

    assert result.status == "completed", result.error
    assert failures(result.metadata) == {
        site.page("/error"): (500, "status 500, expected 200"),
        site.page("/slow"): (None, "no answer within 0.5 s"),
        site.page("/plain"): (200, "text 'Welcome' not found"),
        site.page("/missing"): (404, "status 404, expected 200"),
        site.page("/loop"): (None, "too many redirects"),
    }
    assert all(f["round"] == 1 and f["count"] == 1 for f in result.metadata["failures"].values())
    slowest = {"url": site.page("/"), "elapsed_ms": 0, "round": 1}
    assert result.metadata["summary"] == {
        "checked": 8,
        "ok": 3,
        "failed": 5,
        "failing_pages": 5,
        "slowest": slowest,
    }
    assert result.metadata["healthy"] is False
    # 8 pages, 3 a step; every step was run twice (the re-run checks the pages again).
    assert [step.phase for step in result.steps] == ["initialize", *["checking"] * 3, "report"]
    assert site.hits["/"] == 2
    assert result.resources == []


async def test_logs_every_check_and_the_summary(site):
    result = await run_workload(WebPageCheckerWorkload, config(site))

    moved = f"OK {site.page('/moved')}: 200 in 0 ms (via redirect to {site.page('/about')})"
    assert moved in result.logs
    failed = [m for level, m in result.log_entries if level == "warning" and "FAILED" in m]
    assert failed == [
        f"FAILED {site.page('/error')} (round 1, 0 ms): status 500, expected 200",
        f"FAILED {site.page('/slow')} (round 1, 0 ms): no answer within 0.5 s",
        f"FAILED {site.page('/plain')} (round 1, 0 ms): text 'Welcome' not found",
        f"FAILED {site.page('/missing')} (round 1, 0 ms): status 404, expected 200",
        f"FAILED {site.page('/loop')} (round 1, 0 ms): too many redirects",
    ]
    assert "Checked 8 pages in 1 round(s): 3 ok, 5 failed" in result.logs


async def test_times_the_checks(site, monkeypatch):
    monkeypatch.undo()  # the real stopwatch
    # Times differ on a re-run; everything else must not.
    measured = ["metadata.failures.*.elapsed_ms", "metadata.slowest.elapsed_ms"]
    result = await run_workload(
        WebPageCheckerWorkload, config(site, "/slow", "/"), check_idempotent=measured
    )

    slow = result.metadata["failures"][site.page("/slow")]
    assert slow["elapsed_ms"] >= TIMEOUT * 1000
    # Only pages that answered compete for slowest.
    assert result.metadata["slowest"]["url"] == site.page("/")


async def test_fail_on_error_fails_the_deployment_in_the_report(site):
    result = await run_workload(
        WebPageCheckerWorkload, config(site, fail_on_error=True), check_idempotent=True
    )

    assert result.status == "failed"
    assert result.phase == "report"
    assert result.error == (
        "5 of 8 page checks failed: "
        f"{site.page('/error')}: status 500, expected 200; "
        f"{site.page('/slow')}: no answer within 0.5 s; "
        f"{site.page('/plain')}: text 'Welcome' not found; "
        f"{site.page('/missing')}: status 404, expected 200; "
        f"{site.page('/loop')}: too many redirects"
    )


async def test_fail_on_error_passes_a_healthy_site(site):
    result = await run_workload(
        WebPageCheckerWorkload, config(site, "/", "/about", "/moved", fail_on_error=True)
    )

    assert result.status == "completed", result.error
    assert result.metadata["healthy"] is True
    assert result.metadata["failures"] == {}


async def test_without_following_redirects_the_redirect_itself_is_judged(site):
    result = await run_workload(
        WebPageCheckerWorkload,
        config(site, "/moved", "/", contains="", expect_status=302, follow_redirects=False),
    )

    assert failures(result.metadata) == {site.page("/"): (200, "status 200, expected 302")}
    assert site.hits["/about"] == 0


async def test_a_step_checks_one_batch_and_hands_on_its_place(site):
    runner = StepRunner(WebPageCheckerWorkload, config(site, batch_size=3))
    await runner.run_phase()  # initialize

    await runner.step()

    assert site.hits == Counter({"/": 1, "/about": 1, "/error": 1})
    assert runner.phase == "checking"
    assert runner.cursor["round"] == 1
    assert runner.cursor["next_index"] == 3
    assert (runner.metadata["checked"], runner.metadata["ok"], runner.metadata["failed"]) == (
        3,
        2,
        1,
    )


async def test_rounds_start_an_interval_apart(site):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    result = await run_workload(
        WebPageCheckerWorkload,
        config(site, "/", "/error", rounds=3, interval_seconds=600),
        now=start,
        check_idempotent=True,
    )

    assert result.status == "completed", result.error
    waits = [step.result.resume_at for step in result.steps if step.result.resume_at]
    assert waits == [start + timedelta(seconds=600), start + timedelta(seconds=1200)]
    assert result.metadata["rounds_completed"] == 3
    assert (result.metadata["checked"], result.metadata["failed"]) == (6, 3)
    error = result.metadata["failures"][site.page("/error")]
    assert (error["round"], error["count"]) == (3, 3)
    assert "Round 3/3 done: 1 ok, 1 failed" in result.logs


async def test_the_largest_config_fits_in_the_metadata_when_every_page_fails(site):
    # 50 URLs of 200 characters, each failing with the longest reason there is.
    urls = [f"{site.page('/')}?page={n:02d}&pad=".ljust(200, "x") for n in range(50)]
    result = await run_workload(
        WebPageCheckerWorkload,
        {"urls": urls, "contains": "y" * 200, "batch_size": 50, "rounds": 2, "interval_seconds": 0},
    )

    assert result.status == "completed", result.error
    assert len(result.metadata["failures"]) == 50
    assert {len(f["reason"]) for f in result.metadata["failures"].values()} == {120}


async def test_no_interval_means_no_wait(site):
    result = await run_workload(
        WebPageCheckerWorkload, config(site, "/", rounds=3, interval_seconds=0)
    )

    assert result.metadata["rounds_completed"] == 3
    assert all(step.result.resume_at is None for step in result.steps)
