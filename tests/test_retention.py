"""Retention sweeps on Azurite: what finished long ago is purged, what still owns external
resources is kept, and kept deployments never hold the others back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from haymaker.models import DeploymentState, DeploymentStatus, Resource
from haymaker.retention import Retention
from haymaker.store import DeploymentRecord, Stores

NOW = datetime(2026, 6, 1, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=90)


async def finished(stores: Stores, deployment_id: str, *, owns_resources: bool) -> None:
    await stores.deployments.create(
        DeploymentRecord(
            state=DeploymentState(
                deployment_id=deployment_id,
                workload_name="m365-knowledge-worker",  # its resources live outside
                status=DeploymentStatus.COMPLETED,
                created_at=LONG_AGO,
                completed_at=LONG_AGO,
            )
        )
    )
    if owns_resources:
        await stores.resources.put(deployment_id, [Resource(kind="item", name="left-behind")])


def retention(stores: Stores, registry, purged: list[str]) -> Retention:
    async def purge_orchestration(deployment_id: str) -> None:
        purged.append(deployment_id)

    return Retention(stores, registry, purge_orchestration, clock=lambda: NOW)


async def test_kept_deployments_never_stall_the_sweep(stores: Stores, registry):
    """More kept deployments than a sweep's batch, all sorting before the purgeable ones:
    successive sweeps still reach and purge those."""
    for i in range(5):
        await finished(stores, f"aaa-kept-{i}", owns_resources=True)
    for i in range(3):
        await finished(stores, f"zzz-done-{i}", owns_resources=False)
    orchestrations: list[str] = []
    sweeper = retention(stores, registry, orchestrations)
    purged: list[str] = []
    for _ in range(4):
        report = await sweeper.sweep(days=30, batch=2)
        purged += report.purged
        assert not set(report.kept) & set(report.purged)
    assert sorted(purged) == ["zzz-done-0", "zzz-done-1", "zzz-done-2"]
    assert sorted(orchestrations) == sorted(purged)
    left = await stores.deployments.list(limit=100)
    assert sorted(s.deployment_id for s in left.items) == [f"aaa-kept-{i}" for i in range(5)]


async def test_a_sweep_purges_at_most_its_batch_and_leaves_recent_ones(stores: Stores, registry):
    for i in range(4):
        await finished(stores, f"old-{i}", owns_resources=False)
    await stores.deployments.create(
        DeploymentRecord(
            state=DeploymentState(
                deployment_id="recent",
                workload_name="data-collector",
                status=DeploymentStatus.COMPLETED,
                created_at=NOW,
                completed_at=NOW - timedelta(days=1),
            )
        )
    )
    sweeper = retention(stores, registry, [])
    first = await sweeper.sweep(days=30, batch=3)
    assert len(first.purged) == 3
    second = await sweeper.sweep(days=30, batch=3)
    assert len(second.purged) == 1
    assert (await sweeper.sweep(days=30, batch=3)).purged == []
    left = await stores.deployments.list()
    assert [s.deployment_id for s in left.items] == ["recent"]
