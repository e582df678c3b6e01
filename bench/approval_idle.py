"""What a deployment waiting for an approval costs while nobody decides: storage operations
per minute, counted by a proxy between the local host and Azurite.

One local host on Azurite, its storage reached through a counting HTTP proxy on 127.0.0.1
(every request the host sends to Table storage passes it: entity reads and writes, queries,
batches, table creates). A data-collector deployment with `approve_before_report` runs until
it waits for its report approval; then the bench makes no API call (a status GET would read
the table) and counts the host's storage operations for `--seconds` (default 60). It prints
that figure per minute, the operations of the run up to the wait per durable step for scale,
and the same deployment's operations once approved (it must complete).

The wait is a doorbell raced against a durable timer set for the approval's expiry; the
local host keeps pending timers in memory (found again in the history after a restart), so
the wait itself costs nothing in storage. In Azure the Durable extension keeps the timer as
a scheduled queue message instead, and its queue polling is per task hub, not per instance.

The scheduler's timer is set to fire once a year so its tick (a schedule query a minute)
does not fall in the window; the retention sweep fires at minute 17 of the hour, and the
bench says so if the window held it.

    .venv/bin/python bench/approval_idle.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web
from yarl import URL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite, connection_string, free_port  # noqa: E402
from haymaker_cli.dev import start_host  # noqa: E402

GOAL_PER_MINUTE = 0
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class CountingProxy:
    """Forwards every request to `target` and records (time, method, table)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[tuple[float, str, str]] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.port = free_port()

    async def start(self) -> CountingProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        self.requests.append((time.monotonic(), request.method, _table_of(request.raw_path)))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        async with self._session.request(
            request.method,
            URL(f"{self.target}{request.raw_path}", encoded=True),  # as signed: not re-quoted
            headers=headers,
            data=body or None,
            # Headers the signature covers go as sent: none added.
            skip_auto_headers=("Content-Type", "Accept", "Accept-Encoding", "User-Agent"),
        ) as answer:
            content = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=answer.status, body=content, headers=out)

    def between(self, start: float, end: float) -> list[tuple[float, str, str]]:
        return [entry for entry in self.requests if start <= entry[0] < end]


def _table_of(path: str) -> str:
    """`/devstoreaccount1/tabc123deployments(PartitionKey='x',RowKey='y')` -> its table."""
    parts = unquote(urlsplit(path).path).strip("/").split("/")
    name = parts[1] if len(parts) > 1 else parts[0]
    return name.split("(", 1)[0] or "/"


async def wait_for(api: aiohttp.ClientSession, deployment_id: str, check, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while True:
        async with api.get(f"/api/deployments/{deployment_id}") as response:
            state = await response.json()
        if check(state):
            return state
        if time.monotonic() > deadline:
            raise SystemExit(f"{deployment_id} did not get there: {state}")
        await asyncio.sleep(0.1)


def breakdown(entries: list[tuple[float, str, str]]) -> str:
    counted = Counter(f"{method} {table}" for _, method, table in entries)
    return ", ".join(f"{what}: {n}" for what, n in counted.most_common()) or "none"


async def main(seconds: float) -> int:
    azurite = Azurite(ROOT).start()
    proxy = await CountingProxy(f"http://127.0.0.1:{azurite.table_port}").start()
    os.environ["HAYMAKER_SCHEDULER_CRON"] = "0 0 0 1 1 *"  # once a year: out of the window
    os.environ["HAYMAKER_DEPLOY_RATE_LIMIT"] = "0"
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="approval-idle-")) / "host.log"
    host = await asyncio.to_thread(start_host, ROOT, port, connection_string(proxy.port), log)
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as api:
            config = {"item_count": 50, "item_delay_ms": 0, "approve_before_report": True}
            started = time.monotonic()
            body = {"workload": "data-collector", "config": config}
            async with api.post("/api/deployments", json=body) as response:
                deployment_id = (await response.json())["deployment_id"]
            asked = await wait_for(api, deployment_id, lambda s: s["awaiting_approval"])
            reached = time.monotonic()
            await asyncio.sleep(2)  # let the last writes of the step that asked land
            window_start = time.monotonic()
            wall_start = datetime.now(UTC)
            await asyncio.sleep(seconds)
            window_end = time.monotonic()
            idle = proxy.between(window_start, window_end)
            running = proxy.between(started, reached)
            async with api.post(
                f"/api/deployments/{deployment_id}/approvals/report", json={"decision": "approve"}
            ) as response:
                assert response.status == 200, await response.text()
            after = time.monotonic()
            final = await wait_for(api, deployment_id, lambda s: s["status"] != "running")
            finished = proxy.between(after, time.monotonic())
    finally:
        host.stop()
        await proxy.stop()
        azurite.stop()
    if final["status"] != "completed":
        print(f"the deployment ended {final['status']}: {final.get('error')}")
        return 1
    steps = asked["usage"]["steps"]
    per_minute = len(idle) * 60 / seconds
    print(f"waiting for approval, {seconds:.0f} s without API calls:")
    print(
        f"  storage operations: {len(idle)} ({per_minute:.1f} per minute; goal {GOAL_PER_MINUTE})"
    )
    print(f"  by kind: {breakdown(idle)}")
    if wall_start.minute <= 17 < wall_start.minute + seconds / 60 + 1:
        print("  (the window may hold the retention sweep at minute 17: a query of its own)")
    print(
        f"for scale: {len(running)} operations from deploy to the wait ({steps} steps, "
        f"{len(running) / max(steps, 1):.1f} per step, the API's status polls included)"
    )
    print(f"approved: completed with {len(finished)} more operations (status polls included)")
    return 0 if len(idle) <= GOAL_PER_MINUTE * seconds / 60 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    sys.exit(asyncio.run(main(parser.parse_args().seconds)))
