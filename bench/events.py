"""Lifecycle events on Azurite, in-process: events delivered per second to a loopback webhook,
and what the outbox adds to a step (Table Storage round trips per step, counted on the wire).

    .venv/bin/python bench/events.py [--events 500]

A step that changes nothing events care about writes its log lines and the entity, as before
the outbox; a step that changes the phase writes its event in the entity's own transaction:
the same number of round trips (goal: no additional one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite  # noqa: E402
from haymaker.events.subscriptions import SubscriptionSpec  # noqa: E402
from haymaker.models import DeploymentState, DeploymentStatus  # noqa: E402
from haymaker.runtime import Runtime, get_stores_of  # noqa: E402
from haymaker.settings import Settings  # noqa: E402
from haymaker.store import DeploymentRecord, Stores  # noqa: E402
from tests.support.webhook_receiver import Receiver  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def counting(settings: Settings) -> tuple[Stores, list[int]]:
    """Stores whose Table client counts every HTTP request it sends (azure-core's hook)."""
    from azure.data.tables.aio import TableServiceClient

    from haymaker.store.tables import Tables

    sent = [0]

    def hook(request) -> None:  # type: ignore[no-untyped-def]
        sent[0] += 1

    tables = Tables(settings.storage)
    tables.service = TableServiceClient.from_connection_string(
        settings.storage.connection_string or "", raw_request_hook=hook
    )
    return Stores(tables), sent


async def round_trips(stores: Stores, sent: list[int], change) -> int:  # type: ignore[no-untyped-def]
    before = sent[0]
    await stores.mutate("bench-steps", change)
    return sent[0] - before


async def step_seconds(stores: Stores, deployment_id: str, steps: int) -> float:
    """Median time of `steps` phase-changing steps (each writes an event, which nudges the
    dispatcher in the background)."""
    import statistics

    times = []
    for n in range(steps):
        started = time.perf_counter()
        await stores.mutate(deployment_id, lambda r, n=n: setattr(r.state, "phase", f"p{n}"))
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)  # let the background dispatcher run between steps
    return statistics.median(times)


async def slow_endpoint(runtime: Runtime) -> None:
    """Steps with a subscriber that takes 10 s to answer each delivery, against none."""
    stores = runtime.stores()  # with the nudger: each event is dispatched in the background
    for name in ("bench-alone", "bench-slow"):
        await stores.deployments.create(
            DeploymentRecord(
                state=DeploymentState(
                    deployment_id=name, workload_name="data-collector", created_at=NOW
                )
            )
        )
    alone = await step_seconds(stores, "bench-alone", 30)
    slow = Receiver(delay=10.0).start()
    try:
        spec = SubscriptionSpec(url=slow.url, secret="bench-secret-0123456789")
        await stores.subscriptions.create(spec, NOW, await stores.feed.head())
        with_slow = await step_seconds(stores, "bench-slow", 30)
        print(
            f"step time with a 10 s webhook subscribed: {with_slow * 1000:.1f} ms, "
            f"without: {alone * 1000:.1f} ms (ratio {with_slow / alone:.2f}; goal ~1)"
        )
    finally:
        # Deliveries to the slow endpoint are still under way: the bench ends without them.
        import logging

        for name in ("haymaker.events", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        slow.released.set()
        slow.stop()


async def main(count: int) -> None:
    azurite = Azurite(ROOT).start()
    receiver = Receiver().start()
    try:
        settings = Settings.from_env(
            {
                **os.environ,
                "AzureWebJobsStorage": azurite.connection_string,
                "HAYMAKER_TABLE_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
                "HAYMAKER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            }
        )
        from haymaker.workloads.registry import get_registry

        runtime = Runtime(settings=settings, registry=get_registry())
        stores = get_stores_of(runtime)
        await stores.deployments.create(
            DeploymentRecord(
                state=DeploymentState(
                    deployment_id="bench-steps", workload_name="data-collector", created_at=NOW
                )
            )
        )
        await stores.mutate("bench-steps", lambda r: r.move_to(DeploymentStatus.RUNNING, NOW))
        counted, sent = counting(settings)

        def quiet(record: DeploymentRecord) -> None:
            record.state.metadata["n"] = record.state.metadata.get("n", 0) + 1
            record.log("a step", NOW)

        def phase(record: DeploymentRecord) -> None:
            quiet(record)
            record.state.phase = f"phase-{record.state.metadata['n']}"

        await round_trips(counted, sent, phase)  # warm up: the tables' first use creates them
        quiet_trips = [await round_trips(counted, sent, quiet) for _ in range(20)]
        event_trips = [await round_trips(counted, sent, phase) for _ in range(20)]
        plain = sum(quiet_trips) / len(quiet_trips)
        with_event = sum(event_trips) / len(event_trips)
        print(f"storage round trips per step, no event:   {plain:.2f} (read, log lines, entity)")
        print(
            f"storage round trips per step, with event: {with_event:.2f} (its event in the entity's transaction)"
        )
        print(f"added by the outbox: {with_event - plain:+.2f} (goal: +0)")

        await runtime.dispatcher().sweep()  # the steps' events, before the subscription
        spec = SubscriptionSpec(url=receiver.url, secret="bench-secret-0123456789")
        await stores.subscriptions.create(spec, NOW, await stores.feed.head())
        for n in range(count):
            await stores.mutate(
                "bench-steps", lambda r, n=n: setattr(r.state, "phase", f"burst-{n}")
            )
        await runtime.dispatcher().move([("deployments", "bench-steps")])
        started = time.perf_counter()
        while len(receiver.accepted()) < count:
            await runtime.dispatcher().deliver()
        elapsed = time.perf_counter() - started
        print(
            f"events delivered to a loopback webhook: {count / elapsed:.0f}/s "
            f"({count} in {elapsed:.2f} s, signed, one POST each, in order)"
        )
        await counted.tables.close()
        await slow_endpoint(runtime)
    finally:
        receiver.stop()
        azurite.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    asyncio.run(main(parser.parse_args().events))
