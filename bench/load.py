"""N concurrent data-collector deployments through the HTTP API of one local host on Azurite,
against the same workload steps run in-process with no durability (the floor).

For each batch size N (10, 50, 200 by default), on one host and one Azurite started once and
reused, the bench POSTs N deployments at once (item_count 100, 10 items per durable step),
polls each one's status until it completes, and prints:

- deployments per minute: N / (time from the first POST to the last deployment reaching
  `completed`; the end is the latest `completed_at` the API reports, on this machine's clock,
  so it does not depend on the polling interval);
- p50 and p95 latency of the API calls the bench made, POSTs and status GETs separately (a
  request's latency is measured once it holds one of the bench's connection slots, so queueing
  inside the bench is not counted);
- history events per deployment (mean and max of the final generation's history from the
  Durable management API) and continue-as-new generations;
- the floor: the same steps (initialize, every collecting batch, report) for N deployments run
  concurrently with asyncio in this process, no storage and no orchestration, and the ratio of
  the end-to-end time to it (lower is better; it is the platform's cost per unit of real work).

Each summary line also gives the CPU the host, Azurite and the bench used during the batch (as
a share of one core) and the load average at its end: the host is one Python process, and on a
shared machine other work shows there first. Polling is load too: every status GET is an HTTP
function invocation and a table read on the host's loop, so `--poll-interval` moves the figures.

item_delay_ms defaults to 0, not the workload's 50: simulated work only adds the same sleep to
both sides of the ratio and hides what is measured here, the platform's overhead per durable
step. `--item-delay-ms 50` measures the workload as deployed by default.

    .venv/bin/python bench/load.py [--sizes 10,50,200] [--items 100] [--item-delay-ms 0]

Every deployment must complete with items_collected == item_count; if one does not, the bench
names it and exits 1; so does a host that exits mid-run (its exit code and the end of its log
are printed). One warm-up deployment runs first and is not counted.

The host runs with HAYMAKER_DEPLOY_RATE_LIMIT=0 (as the tests' host does): every local caller
is one caller, and the default 60 deploys a minute would make deployments per minute measure
that policy. `--deploy-rate-limit 60` keeps it; POSTs answered 429 wait for Retry-After and are
sent again (each attempt counts in the POST latencies) and the summary counts them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite, free_port  # noqa: E402
from haymaker.workloads.base import StepContext  # noqa: E402
from haymaker.workloads.data_collector.workload import DataCollectorWorkload  # noqa: E402
from haymaker_cli.dev import Process, start_host  # noqa: E402

WORKLOAD = "data-collector"
FINAL = {"completed", "failed"}
HUB = "/runtime/webhooks/durabletask/instances"


@dataclass
class Deployment:
    deployment_id: str | None = None
    status: str = "not started"
    items_collected: object = None
    completed_at: datetime | None = None
    problem: str | None = None
    history_events: int = 0
    generation: int = 0


@dataclass
class Batch:
    size: int
    deployments: list[Deployment] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    get_errors: int = 0
    rejections: Counter[str] = field(default_factory=Counter)  # 429 answers to POSTs, by detail
    first_post: float = 0.0  # wall clock (time.time()) of the first POST
    seconds: float = 0.0  # first POST to the last completed_at
    last_seen: float = 0.0  # wall clock of the last poll that saw a deployment finish
    floor_seconds: float = 0.0
    floor_steps: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the batch
    load: float = 0.0  # 1-minute load average at the end of the batch


class HostDied(Exception):
    pass


class Api:
    """One aiohttp session, at most `concurrency` requests in flight, each one timed."""

    def __init__(self, base_url: str, concurrency: int) -> None:
        self.base_url = base_url
        self.slots = asyncio.Semaphore(concurrency)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def call(
        self, method: str, path: str, body: Any = None, timings: list[float] | None = None
    ) -> tuple[int, Any, float | None]:
        """(status, JSON body, Retry-After seconds if the answer had one)."""
        async with self.slots:
            started = time.perf_counter()
            async with self.session.request(method, self.base_url + path, json=body) as response:
                payload = await response.json(content_type=None)
            if timings is not None:
                timings.append((time.perf_counter() - started) * 1000)
        retry_after = response.headers.get("Retry-After")
        return response.status, payload, float(retry_after) if retry_after else None

    async def close(self) -> None:
        await self.session.close()


@dataclass
class Processes:
    """The host and Azurite, for their exit codes and CPU time."""

    host: Process
    azurite_pid: int

    def host_exit(self) -> int | None:
        return self.host.popen.poll()

    def cpu_seconds(self) -> dict[str, float]:
        return {
            "host": _cpu_seconds(self.host.popen.pid),
            "azurite": _cpu_seconds(self.azurite_pid),
            "bench": sum(os.times()[:2]),
        }


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (NaN when there is nothing to rank)."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    return ranked[max(0, min(len(ranked) - 1, math.ceil(share * len(ranked)) - 1))]


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


async def follow(
    api: Api, batch: Batch, deployment: Deployment, config: dict, poll: float, started: list
) -> None:
    """POST one deployment, then poll its status until it is completed or failed."""
    started.append(time.time())
    request = {"workload": WORKLOAD, "config": config}
    while True:
        status, body, retry_after = await api.call(
            "POST", "/api/deployments", request, batch.post_ms
        )
        if status != 429:
            break
        # Rate limited (HAYMAKER_DEPLOY_RATE_LIMIT): do as a client should, wait and retry.
        batch.rejections[body.get("detail", "")] += 1
        await asyncio.sleep(retry_after or 1.0)
    if status != 202:
        deployment.problem = f"POST answered {status}: {body.get('detail', body)}"
        return
    deployment.deployment_id = body["deployment_id"]
    deployment.status = body["status"]
    while deployment.status not in FINAL:
        await asyncio.sleep(poll)
        try:
            status, state, _ = await api.call(
                "GET", f"/api/deployments/{deployment.deployment_id}", timings=batch.get_ms
            )
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            batch.get_errors += 1
            deployment.problem = f"status GET raised {type(exc).__name__}"
            continue
        if status != 200:
            batch.get_errors += 1
            deployment.problem = f"status GET answered {status}"
            continue
        deployment.problem = None
        deployment.status = state["status"]
        deployment.items_collected = state.get("metadata", {}).get("items_collected")
        deployment.completed_at = parse_time(state.get("completed_at"))
    batch.last_seen = max(batch.last_seen, time.time())


async def read_history(api: Api, deployment: Deployment) -> None:
    """The final generation's history, once the orchestration itself has ended (the API says
    `completed` as soon as the last step's activity commits; the orchestrator replays after)."""
    for _ in range(100):
        status, body, _ = await api.call(
            "GET", f"{HUB}/{deployment.deployment_id}?showHistory=true&showInput=true"
        )
        if status == 200 and body.get("runtimeStatus") in ("Completed", "Failed", "Terminated"):
            deployment.history_events = len(body.get("historyEvents") or [])
            deployment.generation = int((body.get("input") or {}).get("generation", 0))
            return
        await asyncio.sleep(0.1)
    deployment.problem = f"orchestration still {body.get('runtimeStatus')} after 10 s"


async def run_batch(
    api: Api,
    processes: Processes,
    size: int,
    config: dict,
    poll: float,
    allowed: float,
    floor: bool = True,
) -> Batch:
    batch = Batch(size, [Deployment() for _ in range(size)])
    cpu_before = processes.cpu_seconds()
    started: list[float] = []
    pending = {
        asyncio.create_task(follow(api, batch, deployment, config, poll, started))
        for deployment in batch.deployments
    }
    deadline = time.monotonic() + allowed
    try:
        while pending and time.monotonic() < deadline:
            done, pending = await asyncio.wait(pending, timeout=1.0)
            if processes.host_exit() is not None:
                raise HostDied(f"the host exited with code {processes.host_exit()} during N={size}")
            for task in done:
                if task.exception() is not None:
                    raise task.exception()
    finally:
        for task in pending:
            task.cancel()
    batch.first_post = min(started)
    finished = [d.completed_at for d in batch.deployments if d.completed_at is not None]
    # Never zero, so that the ratios of a batch where nothing completed still print.
    end = max(finished).timestamp() if finished else time.time()
    batch.seconds = max(end - batch.first_post, 1e-3)
    batch.cpu = {
        name: seconds - cpu_before[name] for name, seconds in processes.cpu_seconds().items()
    }
    batch.load = os.getloadavg()[0]
    await asyncio.gather(
        *(read_history(api, d) for d in batch.deployments if d.status == "completed")
    )
    if floor:
        batch.floor_seconds, batch.floor_steps = await run_floor(size, config)
    return batch


async def floor_one(workload: DataCollectorWorkload, deployment_id: str, config: dict) -> int:
    """Every step of one deployment, in order, with nothing kept but the cursor and metadata."""
    metadata: dict[str, Any] = {}
    steps = 0
    for phase in workload.phases:
        cursor: dict[str, Any] = {}
        while True:
            ctx = StepContext(
                deployment_id, phase, config, cursor, dict(metadata), datetime.now(UTC)
            )
            result = await workload.run_step(ctx)
            steps += 1
            metadata.update(result.metadata)
            if result.phase_complete:
                break
            cursor = result.cursor
    if metadata.get("items_collected") != config["item_count"]:
        raise SystemExit(f"the floor run of {deployment_id} collected {metadata}")
    return steps


async def run_floor(size: int, config: dict) -> tuple[float, int]:
    workload = DataCollectorWorkload()
    started = time.perf_counter()
    steps = await asyncio.gather(
        *(floor_one(workload, f"data-collector-floor{i:06d}", config) for i in range(size))
    )
    return time.perf_counter() - started, steps[0]


def failures(batch: Batch, items: int) -> list[str]:
    """The deployments that did not complete with every item, grouped by what happened."""
    groups: dict[str, list[str]] = {}
    for d in batch.deployments:
        if d.status == "completed" and d.items_collected == items and not d.problem:
            continue
        what = f"status {d.status}, items_collected {d.items_collected}"
        if d.problem:
            what += f", {d.problem}"
        groups.setdefault(what, []).append(d.deployment_id or "(no id)")
    return [f"  {len(ids)} x {what}: {' '.join(ids)}" for what, ids in groups.items()]


def report(batches: list[Batch], items: int, delay: int, poll: float) -> None:
    print(
        f"load benchmark: data-collector, item_count {items}, item_delay_ms {delay}, one local "
        f"host on Azurite in memory, {os.cpu_count()} cores, status polled every {poll:g} s"
    )
    print(
        f"{'N':>5} {'e2e s':>7} {'dep/min':>8} {'POST p50':>9} {'p95':>6} {'GET p50':>8} "
        f"{'p95':>6} {'hist mean':>10} {'max':>4} {'gen':>4} {'floor s':>8} {'ratio':>7}"
    )
    for b in batches:
        events = [d.history_events for d in b.deployments]
        print(
            f"{b.size:>5} {b.seconds:>7.2f} {b.size / b.seconds * 60:>8.1f} "
            f"{percentile(b.post_ms, 0.5):>9.1f} {percentile(b.post_ms, 0.95):>6.1f} "
            f"{percentile(b.get_ms, 0.5):>8.1f} {percentile(b.get_ms, 0.95):>6.1f} "
            f"{statistics.fmean(events):>10.1f} {max(events):>4} "
            f"{max(d.generation for d in b.deployments):>4} "
            f"{b.floor_seconds:>8.3f} {b.seconds / b.floor_seconds:>7.1f}"
        )
    print("  (latencies in ms; hist = history events of the final generation; gen = highest")
    print("   continue-as-new generation; ratio = end-to-end time / in-process floor time)")
    for b in batches:
        mean_events = statistics.fmean(d.history_events for d in b.deployments)
        seen = f"{b.last_seen - b.first_post:.1f} s" if b.last_seen else "never"
        cpu = ", ".join(f"{name} {seconds / b.seconds:.0%}" for name, seconds in b.cpu.items())
        print(
            f"N={b.size}: {b.size} deployments of {b.floor_steps} steps completed in "
            f"{b.seconds:.1f} s ({b.size / b.seconds * 60:.0f}/min; last completion seen by "
            f"polling at {seen}), {b.seconds / b.floor_seconds:.1f}x the "
            f"{b.floor_seconds * 1000:.0f} ms floor; {len(b.post_ms)} POSTs p95 "
            f"{percentile(b.post_ms, 0.95):.0f} ms, {len(b.get_ms)} GETs p95 "
            f"{percentile(b.get_ms, 0.95):.0f} ms ({b.get_errors} errors); "
            f"{mean_events / b.floor_steps:.1f} history events per step; CPU of one core: "
            f"{cpu}; load average {b.load:.1f}"
        )
        for detail, count in b.rejections.items():
            print(f"  {count} POSTs answered 429 ({detail}) and were retried after Retry-After")


async def measure(
    base_url: str,
    processes: Processes,
    sizes: list[int],
    config: dict,
    poll: float,
    concurrency: int,
    allowed: float,
) -> tuple[list[Batch], str | None]:
    """The batches measured, and why the run stopped early (None if it did not)."""
    api = Api(base_url, concurrency)
    batches: list[Batch] = []
    try:
        warm_config = {**config, "item_count": 10}
        warm = await run_batch(api, processes, 1, warm_config, poll, allowed, floor=False)
        await run_floor(1, config)
        if failures(warm, 10):
            return [], "the warm-up deployment did not complete:\n" + "\n".join(failures(warm, 10))
        for size in sizes:
            started = time.perf_counter()
            batch = await run_batch(api, processes, size, config, poll, allowed)
            print(f"  N={size} measured in {time.perf_counter() - started:.1f} s", flush=True)
            batches.append(batch)
    except HostDied as exc:
        return batches, str(exc)
    finally:
        await api.close()
    return batches, None


def main(args: argparse.Namespace) -> int:
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    config = DataCollectorWorkload.manifest().validate_config(
        {"item_count": args.items, "item_delay_ms": args.item_delay_ms}
    )
    began = time.perf_counter()
    log = Path(tempfile.mkdtemp(prefix="haymaker-load-")) / "host.log"
    azurite = Azurite(ROOT)
    host: Process | None = None
    stopped_early: str | None = None
    try:
        azurite.start()
        assert azurite.process is not None
        os.environ["AzureWebJobsStorage"] = azurite.connection_string
        os.environ["HAYMAKER_TABLE_PREFIX"] = f"load{uuid.uuid4().hex[:8]}"
        os.environ["HAYMAKER_SCHEDULER_CRON"] = "0 * * * * *"
        os.environ["HAYMAKER_DEPLOY_RATE_LIMIT"] = str(args.deploy_rate_limit)
        os.environ["PYTHONFAULTHANDLER"] = "1"  # a crashing host leaves its stacks in the log
        port = free_port()
        host = start_host(ROOT, port, azurite.connection_string, log)
        print(f"host on port {port} (pid {host.popen.pid}), log {log}", flush=True)
        processes = Processes(host, azurite.process.pid)
        batches, stopped_early = asyncio.run(
            measure(
                f"http://127.0.0.1:{port}",
                processes,
                sizes,
                config,
                args.poll_interval,
                args.concurrency,
                args.timeout,
            )
        )
    finally:
        if host is not None:
            host.stop(signal.SIGTERM)
        azurite.stop()
    if batches:
        report(batches, args.items, args.item_delay_ms, args.poll_interval)
    bad = [(b.size, failures(b, args.items)) for b in batches if failures(b, args.items)]
    for size, lines in bad:
        count = sum(int(line.split(" x ", 1)[0]) for line in lines)
        print(f"N={size}: {count} deployments did not complete with {args.items} items:")
        print("\n".join(lines))
    if stopped_early:
        tail = [line[:200] for line in log.read_text(errors="replace").splitlines()[-15:]]
        print(f"stopped early: {stopped_early}; the host log ends:", *tail, sep="\n  ")
    print(f"total {time.perf_counter() - began:.0f} s (Azurite and host start and stop included)")
    return 1 if bad or stopped_early else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,50,200", help="comma-separated batch sizes N")
    parser.add_argument("--items", type=int, default=100, help="item_count of each deployment")
    parser.add_argument(
        "--item-delay-ms", type=int, default=0, help="simulated work per item (workload default 50)"
    )
    parser.add_argument(
        "--deploy-rate-limit",
        type=int,
        default=0,
        help="the host's HAYMAKER_DEPLOY_RATE_LIMIT (deploys per caller per minute; 0: off)",
    )
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between GETs")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP requests in flight")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per batch")
    sys.exit(main(parser.parse_args()))
