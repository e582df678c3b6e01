"""The dashboard in headless Chromium: time to the first rendered rows of the deployments
page with 1,000 deployments in the table, and time to a deployment's page with 2,000 log lines
(its log tail, timeline and chart drawn). Goal: at most 1 s each on this machine.

One Azurite and one local host; the deployments are written straight into the tables (as the
platform writes them: state, newest-first index, log lines and step rows), so the figure is
the page's and the API's, not the time to run 1,000 workloads. Each page is loaded `--runs`
times in one tab: the first load is cold (nothing cached, the page's modules fetched), the
others revalidate with ETags. Printed: first, median and worst of the runs, and the goal.

    .venv/bin/python bench/ui.py [--deployments 1000] [--log-lines 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite, free_port  # noqa: E402
from haymaker.budgets import Usage  # noqa: E402
from haymaker.models import DeploymentState, DeploymentStatus, LogEntry, StepMark  # noqa: E402
from haymaker.settings import StorageSettings  # noqa: E402
from haymaker.store import DeploymentRecord, Progress, Stores  # noqa: E402
from haymaker.store.tables import Tables  # noqa: E402
from haymaker_cli.dev import dashboard_url, start_host  # noqa: E402
from tests.support.browser import DESKTOP, launch  # noqa: E402

GOAL_SECONDS = 1.0
STATUSES = [DeploymentStatus.COMPLETED] * 6 + [
    DeploymentStatus.RUNNING,
    DeploymentStatus.STOPPED,
    DeploymentStatus.FAILED,
    DeploymentStatus.PENDING,
]
PHASES = ["initialize", "collecting", "report"]


def record(index: int, now: datetime, log_lines: int = 0, steps: int = 12) -> DeploymentRecord:
    status = STATUSES[index % len(STATUSES)]
    created = now - timedelta(seconds=index * 7)
    state = DeploymentState(
        deployment_id=f"data-collector-{index:010x}",
        workload_name="data-collector",
        status=status,
        phase="completed" if status == DeploymentStatus.COMPLETED else "collecting",
        created_at=created,
        started_at=created + timedelta(seconds=1),
        completed_at=created + timedelta(seconds=30)
        if status == DeploymentStatus.COMPLETED
        else None,
        config={"item_count": 100, "batch_size": 10},
        metadata={"items_collected": 100},
        usage=Usage(steps=steps, llm_calls=index % 5, input_tokens=120 * (index % 5)),
    )
    return DeploymentRecord(state=state, progress=Progress(step=steps, log_count=log_lines))


def step_marks(start: datetime, count: int) -> list[StepMark]:
    marks = []
    for step in range(count):
        begun = start + timedelta(seconds=step)
        phase = PHASES[0] if step == 0 else PHASES[2] if step == count - 1 else PHASES[1]
        marks.append(
            StepMark(
                step=step,
                phase=phase,
                started_at=begun,
                finished_at=begun + timedelta(milliseconds=400),
                metrics={"items_collected": float(step * 10)},
            )
        )
    return marks


async def seed(storage: StorageSettings, deployments: int, log_lines: int) -> str:
    """`deployments` records, the newest with `log_lines` lines and 200 steps; its id."""
    tables = Tables(storage)
    stores = Stores(tables)
    now = datetime.now(UTC)
    # Each create writes its index row: the one-time index migration has nothing to do.
    await stores.deployments.index.mark_built()
    gate = asyncio.Semaphore(16)

    async def put(index: int) -> None:
        async with gate:
            await stores.deployments.create(record(index, now))

    await asyncio.gather(*(put(i) for i in range(1, deployments)))
    logged = record(0, now, log_lines=log_lines, steps=200)
    await stores.deployments.create(logged)
    started = logged.state.started_at or now
    entries = [
        LogEntry(
            line=line,
            timestamp=started + timedelta(milliseconds=line * 10),
            level="warning" if line % 50 == 0 else "info",
            message=f"Collected item {line + 1}/{log_lines}: item-{line:05d} from the source",
        )
        for line in range(log_lines)
    ]
    await stores.logs.write(logged.deployment_id, entries, step_marks(started, 200))
    await tables.close()
    return logged.deployment_id


def measure(base: str, deployment_id: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    pages = {
        "deployments page, first rows": (
            dashboard_url(base) + "deployments",
            ["tbody tr[data-id] a"],
        ),
        # the log tail (its last 1,000 lines), the timeline and the chart all drawn
        "deployment page, 2,000 log lines": (
            dashboard_url(base) + f"deployments/{deployment_id}",
            ["#log li:nth-child(1000)", "details.phase", ".chart canvas"],
        ),
    }
    found: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport=DESKTOP)
        for name, (url, selectors) in pages.items():
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                page.goto(url)
                for selector in selectors:
                    page.wait_for_selector(selector, state="attached")
                times.append(time.perf_counter() - began)
            found[name] = times
        browser.close()
    return found


def main(args: argparse.Namespace) -> int:
    log = Path(tempfile.mkdtemp(prefix="haymaker-ui-bench-")) / "host.log"
    azurite = Azurite(ROOT)
    host = None
    try:
        azurite.start()
        prefix = f"uib{uuid.uuid4().hex[:8]}"
        os.environ["AzureWebJobsStorage"] = azurite.connection_string
        os.environ["HAYMAKER_TABLE_PREFIX"] = prefix
        storage = StorageSettings(connection_string=azurite.connection_string, table_prefix=prefix)
        began = time.perf_counter()
        deployment_id = asyncio.run(seed(storage, args.deployments, args.log_lines))
        print(
            f"seeded {args.deployments} deployments and {args.log_lines} log lines "
            f"in {time.perf_counter() - began:.1f} s"
        )
        port = free_port()
        host = start_host(ROOT, port, azurite.connection_string, log)
        results = measure(f"http://127.0.0.1:{port}", deployment_id, args.runs)
    finally:
        if host is not None:
            host.stop(signal.SIGTERM)
        azurite.stop()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"headless Chromium, {args.runs} loads each (first cold), goal <= {GOAL_SECONDS:.1f} s; "
        f"load average {load} on {os.cpu_count()} cores (other work on the machine shows here)"
    )
    for name, times in results.items():
        median = statistics.median(times)
        print(
            f"  {name:34s} first {times[0]:.2f} s  median {median:.2f} s  "
            f"max {max(times):.2f} s  ({median / GOAL_SECONDS:.2f}x the goal)"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--log-lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    sys.exit(main(parser.parse_args()))
