"""Throughput of the local host's Durable engine for one orchestration instance, on Azurite.

Prints sequential activities per second, fan-out/fan-in activities per second and storage
round trips per durable step, each with its ratio to the target (higher is better for the
first two, lower for the third). Targets: Durable's Azure Storage provider documents about 5
sequential and 100 fan-out activities per second per instance; we aim for 50, 1,000 and 2.

    .venv/bin/python bench/engine.py [--sequential 100] [--long 300] [--fan-out 2000]

The SDK replays an orchestration's whole history at every step, so a sequence slows as its
history grows; the platform's orchestrations renew their history every 40 steps. The headline
figure is a 100-step sequence; a 300-step one in a single history is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost import loader  # noqa: E402
from devhost.azurite import Azurite  # noqa: E402
from devhost.durable_store import DurableStore  # noqa: E402
from devhost.engine import Engine  # noqa: E402

SAMPLE_APP = ROOT / "tests" / "apps" / "sample"
TARGETS = {"sequential": 50.0, "fan_out": 1000.0, "round_trips": 2.0}


async def run_one(
    engine: Engine, name: str, instance_id: str, payload: object
) -> tuple[float, int]:
    before = engine.store.round_trips
    started = time.perf_counter()
    await engine.start_instance(name, instance_id, json.dumps(payload))
    async with asyncio.timeout(600):
        instance = await engine.wait_for(instance_id, ("Completed", "Failed"))
    elapsed = time.perf_counter() - started
    if instance.status != "Completed":
        raise SystemExit(f"{name} ended {instance.status}: {instance.output}")
    return elapsed, engine.store.round_trips - before


async def main(sequential: int, long: int, fan_out: int, concurrency: int) -> None:
    azurite = Azurite(ROOT).start()
    connection = azurite.connection_string
    try:
        app = loader.load(SAMPLE_APP)
        store = DurableStore(connection, "BenchHub")
        engine = Engine(app, store, max_activities=concurrency, max_orchestrations=4)
        await engine.start()
        await run_one(engine, "sequence", "warm-up", {"n": 5})
        seq_seconds, seq_trips = await run_one(engine, "sequence", "seq", {"n": sequential})
        long_seconds, _ = await run_one(engine, "sequence", "long", {"n": long})
        fan_seconds, _ = await run_one(engine, "fan_out", "fan", {"n": fan_out})
        await engine.stop()
        await store.close()
    finally:
        azurite.stop()

    rows = [
        (
            "sequential activities/s",
            sequential / seq_seconds,
            "sequential",
            f"{sequential} activities in {seq_seconds:.2f} s",
        ),
        (
            f"  ... in one {long}-step history",
            long / long_seconds,
            "sequential",
            f"{long} activities in {long_seconds:.2f} s",
        ),
        (
            "fan-out activities/s",
            fan_out / fan_seconds,
            "fan_out",
            f"{fan_out} activities in {fan_seconds:.2f} s, {concurrency} at a time",
        ),
        ("round trips per step", seq_trips / sequential, "round_trips", "lower is better"),
    ]
    print(f"engine benchmark: one instance, Azurite in memory, {os.cpu_count()} cores")
    for label, value, target, note in rows:
        print(
            f"  {label:<28}{value:8.2f}  ratio to target {value / TARGETS[target]:5.2f}  ({note})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--long", type=int, default=300)
    parser.add_argument("--fan-out", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64, help="activities run at once")
    args = parser.parse_args()
    asyncio.run(main(args.sequential, args.long, args.fan_out, args.concurrency))
