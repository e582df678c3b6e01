"""The checker under the real orchestrator and activities (DurableHarness, state in Azurite):
rounds separated by durable timers that fire in virtual time, and stop/start mid-run."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from fake_site import FakeSite
from web_page_checker import WebPageCheckerWorkload

from haymaker_testing import DurableRun

HOUR = 3600


def config(site: FakeSite, *paths: str, **overrides: object) -> dict[str, object]:
    return {"urls": [site.page(path) for path in paths], "batch_size": 2, **overrides}


async def step_until(run: DurableRun, condition) -> None:
    """Run one activity call at a time until the deployment's metadata satisfies `condition`."""
    for _ in range(100):
        if condition((await run.state()).metadata):
            return
        await run.steps(1)
    raise AssertionError(f"never reached: {(await run.state()).metadata}")


async def test_rounds_wait_on_durable_timers(durable_harness, site):
    run = await durable_harness.deploy(
        WebPageCheckerWorkload,
        config(site, "/", "/about", "/error", rounds=3, interval_seconds=HOUR),
    )
    started = run.orchestration.now

    await run.run_to_completion()

    state = await run.state()
    assert state.status == "completed", state.error
    assert state.metadata["rounds_completed"] == 3
    assert (state.metadata["checked"], state.metadata["ok"], state.metadata["failed"]) == (9, 6, 3)
    assert state.metadata["failures"][site.page("/error")]["count"] == 3
    assert site.hits == Counter({"/": 3, "/about": 3, "/error": 3})
    logs = await run.logs()
    due = [
        datetime.fromisoformat(line.split(" starts at ")[1])
        for line in logs
        if " starts at " in line
    ]
    assert len(due) == 2
    # The orchestration's clock reached each round's time (the test did not wait for it).
    assert run.orchestration.now >= max(due) >= started + timedelta(hours=1)
    assert "Checked 9 pages in 3 round(s): 6 ok, 3 failed" in logs


async def test_a_page_that_breaks_between_rounds_is_reported_from_then_on(durable_harness, site):
    run = await durable_harness.deploy(
        WebPageCheckerWorkload, config(site, "/", "/about", rounds=3, interval_seconds=HOUR)
    )
    await step_until(run, lambda metadata: metadata.get("rounds_completed") == 1)
    assert (await run.state()).metadata["failures"] == {}

    site.broken.add("/about")
    await run.run_to_completion()

    state = await run.state()
    failure = state.metadata["failures"][site.page("/about")]
    assert failure == {
        "round": 3,
        "status": 503,
        "reason": "status 503, expected 200",
        "elapsed_ms": failure["elapsed_ms"],
        "count": 2,
    }
    assert state.metadata["summary"]["failing_pages"] == 1


async def test_stop_and_start_mid_round_checks_each_page_once(durable_harness, site):
    paths = ("/", "/about", "/contact", "/moved")
    run = await durable_harness.deploy(WebPageCheckerWorkload, config(site, *paths, rounds=2))
    await step_until(run, lambda metadata: metadata.get("checked") == 2)

    await run.stop()
    await run.run_to_completion()  # returns when the run is parked, waiting for a command
    stopped = await run.state()
    assert stopped.status == "stopped"
    assert stopped.metadata["checked"] == 2
    hits = site.hits.copy()
    await run.run_to_completion()
    assert site.hits == hits  # a stopped deployment checks nothing

    await run.start()
    await run.run_to_completion()

    state = await run.state()
    assert state.status == "completed", state.error
    assert state.metadata["checked"] == 8
    # Resumed at its cursor: no page was checked again, none skipped.
    assert site.hits == Counter({"/": 2, "/about": 4, "/contact": 2, "/moved": 2})


async def test_stop_during_the_wait_between_rounds_holds_the_next_round(durable_harness, site):
    run = await durable_harness.deploy(
        WebPageCheckerWorkload, config(site, "/", rounds=2, interval_seconds=HOUR)
    )
    await step_until(run, lambda metadata: metadata.get("rounds_completed") == 1)

    await run.stop()
    await run.run_to_completion()
    assert (await run.state()).status == "stopped"
    run.advance(timedelta(hours=2))  # the round was due while the deployment was stopped
    await run.run_to_completion()
    assert site.hits["/"] == 1

    await run.start()
    await run.run_to_completion()

    state = await run.state()
    assert state.status == "completed", state.error
    assert state.metadata["rounds_completed"] == 2
    assert site.hits["/"] == 2
