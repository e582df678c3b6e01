"""Purging finished deployments: their orchestration history, log lines, resource records,
transcript, tool-call ledger, approvals, own memory notes and state. Only what nothing
outside the platform still depends on: a deployment whose workload created external
resources that were never cleaned up is kept (purging its records would orphan those
resources)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from haymaker.clock import Clock, utc_now
from haymaker.errors import ConflictError
from haymaker.store import DeploymentRecord, Stores
from haymaker.workloads.registry import WorkloadRegistry

logger = logging.getLogger("haymaker.retention")

PurgeOrchestration = Callable[[str], Awaitable[None]]
SWEEP_CURSOR = "retention"
SCAN_FACTOR = 5


@dataclass
class PurgeReport:
    deployment_id: str
    log_lines: int
    resource_records: int


@dataclass
class SweepReport:
    purged: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # deployment id -> why


class Retention:
    def __init__(
        self,
        stores: Stores,
        registry: WorkloadRegistry,
        purge_orchestration: PurgeOrchestration,
        clock: Clock = utc_now,
    ) -> None:
        self.stores = stores
        self.registry = registry
        self.purge_orchestration = purge_orchestration
        self.clock = clock

    async def purge(self, deployment_id: str) -> PurgeReport:
        record = await self.stores.deployments.get(deployment_id)
        await self._check_purgeable(record)
        await self.purge_orchestration(deployment_id)
        lines = await self.stores.logs.delete_all(deployment_id)
        resources = await self.stores.resources.delete_all(deployment_id)
        # What an agent kept beside its state: its conversation, tool calls and own notes.
        await self.stores.transcripts.delete_all(deployment_id)
        await self.stores.toolcalls.delete_all(deployment_id)
        await self.stores.approvals.delete_all(deployment_id)
        await self.stores.memory.delete_deployment(deployment_id)
        await self.stores.tool_listings.forget(deployment_id)
        # Under its ETag (a concurrent command wins), leaving deployment.purged in its outbox.
        await self.stores.deployments.delete(record, self.clock())
        logger.info("purged deployment %s", deployment_id, extra={"deployment_id": deployment_id})
        return PurgeReport(deployment_id, lines, resources)

    async def _check_purgeable(self, record: DeploymentRecord) -> None:
        state = record.state
        if not state.is_terminal:
            raise ConflictError(
                f"deployment {state.deployment_id} is {state.status}: stop or clean it up first"
            )
        if self._external(state.workload_name) and await self.stores.resources.count(
            state.deployment_id
        ):
            raise ConflictError(
                f"deployment {state.deployment_id} still owns resources outside the platform: "
                "clean it up first"
            )

    def _external(self, workload: str) -> bool:
        try:
            return self.registry.workload_class(workload).external_resources
        except Exception:  # an uninstalled workload: assume the worst
            return True

    async def sweep(self, days: float, batch: int) -> SweepReport:
        """Purge up to `batch` deployments finished more than `days` ago.

        The scan resumes where the previous sweep stopped and wraps around at the end, so
        deployments that must be kept (they still own external resources) never hold the
        others back; a sweep examines at most SCAN_FACTOR times `batch` of them."""
        cutoff = self.clock() - timedelta(days=days)
        report = SweepReport()
        started_at = cursor = await self.stores.cursors.get(SWEEP_CURSOR)
        examined, wrapped = 0, False
        while len(report.purged) < batch and examined < batch * SCAN_FACTOR:
            page = await self.stores.deployments.finished_before(
                cutoff, limit=batch - len(report.purged), continuation=cursor
            )
            for state in page.items:
                examined += 1
                try:
                    await self.purge(state.deployment_id)
                except ConflictError as exc:
                    report.kept[state.deployment_id] = exc.detail
                else:
                    report.purged.append(state.deployment_id)
            cursor = page.continuation
            if cursor is None:
                if started_at is None or wrapped:
                    break  # the whole table was seen
                wrapped = True  # go on once more from the beginning
        await self.stores.cursors.set(SWEEP_CURSOR, cursor)
        return report
