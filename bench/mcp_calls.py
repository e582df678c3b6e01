"""An MCP tool call through McpToolSource against direct calls with the official SDK, on a
local MCP server (the tests' server, streamable HTTP on 127.0.0.1).

McpToolSource opens a session per call (a durable step holds no connection across a crash),
so its fair baseline is the SDK doing the same: connect, initialize, call, close. A call on
a warm session is printed too, as the floor a per-call session cannot reach. Goal: the
source within 1.3x of the SDK's per-call session (its own work: argument validation, host
rules and vetted addresses, outcome mapping).

    .venv/bin/python bench/mcp_calls.py [--calls 50]

(Not bench/mcp.py: run as a script, that name would shadow the `mcp` package.)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from haymaker.integrations.access import ServiceAccess  # noqa: E402
from haymaker.integrations.credentials import Credentials  # noqa: E402
from haymaker.integrations.mcp import McpToolSource  # noqa: E402
from haymaker.integrations.models import ServiceSpec  # noqa: E402
from haymaker.settings import Settings  # noqa: E402
from haymaker.tools import ToolContext  # noqa: E402
from tests.support.mcp_server import McpTestServer  # noqa: E402

GOAL = 1.3
ARGUMENTS = {"a": 2, "b": 3}


async def timed(calls: int, one: Callable[[], Awaitable[object]]) -> float:
    """The median milliseconds of `calls` calls, after two to warm up."""
    for _ in range(2):
        await one()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await one()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def main(calls: int) -> int:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    logging.disable(logging.INFO)
    server = McpTestServer().start()
    try:

        async def sdk_session_per_call() -> object:
            async with (
                streamable_http_client(server.url) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await session.call_tool("add", ARGUMENTS)

        settings = Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
        spec = ServiceSpec(name="bench", kind="mcp", url=server.url, allowed_hosts=["127.0.0.1"])
        source = await McpToolSource.open(spec, ServiceAccess(Credentials(settings)))
        ctx = ToolContext(deployment_id="bench")

        async def through_the_source() -> object:
            outcome = await source.call("add", ARGUMENTS, ctx)
            assert outcome.content == "5", outcome
            return outcome

        per_call = await timed(calls, sdk_session_per_call)
        ours = await timed(calls, through_the_source)
        async with (
            streamable_http_client(server.url) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            warm = await timed(calls, lambda: session.call_tool("add", ARGUMENTS))
    finally:
        server.stop(force=False)
    ratio = ours / per_call
    print(f"SDK, a session per call:     {per_call:7.1f} ms (median of {calls})")
    print(f"McpToolSource.call:          {ours:7.1f} ms")
    print(f"SDK, one call, warm session: {warm:7.1f} ms")
    print(f"ratio source / SDK per call: {ratio:.2f} (goal <= {GOAL})")
    print(f"ratio source / warm call:    {ours / warm:.2f} (the price of a session per call)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    sys.exit(asyncio.run(main(parser.parse_args().calls)))
