"""Cleanup of a deployment, one batch of resources per activity call: the workload deletes
what each record stands for, the platform drops the records, and the last batch settles the
deployment (completed, or failed while anything remains). Every part can be re-run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from haymaker.approval_flow import ApprovalFlow, end_wait
from haymaker.clock import Clock
from haymaker.contracts import CleanupProgress, CleanupRequest
from haymaker.models import CleanupReport, DeploymentStatus, Resource
from haymaker.settings import Settings
from haymaker.store import DeploymentRecord, Stores
from haymaker.views import view_of
from haymaker.workloads.base import CleanupContext, Workload
from haymaker.workloads.registry import WorkloadRegistry

S = DeploymentStatus


async def delete_resources(
    workload: Workload, resources: list[Resource], ctx: CleanupContext
) -> tuple[list[Resource], CleanupReport]:
    """Ask the workload to delete each resource: the ones deleted, and the report of this
    batch (an error per failure)."""
    started = time.monotonic()
    deleted: list[Resource] = []
    errors: list[str] = []
    for resource in resources:
        try:
            await workload.delete_resource(resource, ctx)
        except Exception as exc:  # one stubborn resource must not stop the others
            errors.append(f"{resource.key}: {exc}")
        else:
            deleted.append(resource)
    report = CleanupReport(
        deployment_id=ctx.deployment_id,
        resources_deleted=len(deleted),
        resources_failed=len(errors),
        details=[f"deleted {len(deleted)} resources"] if deleted else [],
        errors=errors,
        duration_seconds=time.monotonic() - started,
    )
    return deleted, report


@dataclass
class Batch:
    """What one cleanup call did."""

    ctx: CleanupContext
    report: CleanupReport  # of this batch only
    continuation: str | None

    @property
    def last(self) -> bool:
        return self.continuation is None


class Cleanup:
    def __init__(
        self,
        stores: Stores,
        registry: WorkloadRegistry,
        clock: Clock,
        settings: Settings | None = None,
    ) -> None:
        self.stores = stores
        self.registry = registry
        self.clock = clock
        self.settings = settings
        self.approvals = ApprovalFlow(stores, clock)

    async def run(self, request: CleanupRequest) -> CleanupProgress:
        record = await self._begin(request)
        if record.state.desired_status != S.CLEANING_UP:
            # An earlier run of this request already finished the cleanup.
            report = request.report or CleanupReport(deployment_id=request.deployment_id)
            return CleanupProgress(view=view_of(record), report=report, done=True)
        batch = await self._delete_batch(record, request)
        report = (request.report or CleanupReport(deployment_id=request.deployment_id)).merge(
            batch.report
        )
        if batch.last and record.progress.cleanup_resources is not None:
            report = await self._exact_totals(record, report)
        record = await self._record(request.deployment_id, batch, report)
        return CleanupProgress(
            view=view_of(record), report=report, continuation=batch.continuation, done=batch.last
        )

    async def _begin(self, request: CleanupRequest) -> DeploymentRecord:
        """Move the deployment to cleaning_up (first batch only), remembering how many
        resource records there were."""
        first_batch = request.report is None
        at_start = await self.stores.resources.count(request.deployment_id) if first_batch else None
        if first_batch:
            await self.approvals.cancel(await self.stores.deployments.get(request.deployment_id))
        now = self.clock()

        def begin(record: DeploymentRecord) -> None:
            if record.state.desired_status != S.CLEANING_UP or record.state.status == S.CLEANING_UP:
                return
            end_wait(record, now)
            record.move_to(S.CLEANING_UP, now)
            record.state.phase = "cleanup"
            record.progress.wake_event = None
            record.progress.cleanup_resources = at_start
            record.log("Cleanup started", now)

        record, _ = await self.stores.mutate(request.deployment_id, begin)
        return record

    async def _delete_batch(self, record: DeploymentRecord, request: CleanupRequest) -> Batch:
        workload = self.registry.create(record.state.workload_name)
        page = await self.stores.resources.page(
            request.deployment_id, limit=request.batch_size, continuation=request.continuation
        )
        ctx = CleanupContext(
            deployment_id=request.deployment_id,
            config=record.state.config,
            stores=self.stores,
            settings=self.settings,
        )
        deleted, report = await delete_resources(workload, page.items, ctx)
        await self.stores.resources.delete(request.deployment_id, deleted)
        return Batch(ctx=ctx, report=report, continuation=page.continuation)

    async def _exact_totals(self, record: DeploymentRecord, report: CleanupReport) -> CleanupReport:
        """Count from the records, not the batches: a batch that ran twice (a crash between
        deleting and recording) must not count twice."""
        assert record.progress.cleanup_resources is not None
        remaining = await self.stores.resources.count(record.deployment_id)
        return report.model_copy(
            update={
                "resources_deleted": max(0, record.progress.cleanup_resources - remaining),
                "resources_failed": remaining,
            }
        )

    async def _record(
        self, deployment_id: str, batch: Batch, report: CleanupReport
    ) -> DeploymentRecord:
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            if record.state.desired_status != S.CLEANING_UP:
                return  # an earlier run of this final batch already finished the cleanup
            for level, message in batch.ctx.logs:
                record.log(message, now, level)
            for error in batch.report.errors:
                record.log(f"Could not delete {error}", now, "error")
            if batch.last:
                settle(record, report, now)

        record, _ = await self.stores.mutate(deployment_id, change)
        return record


def settle(record: DeploymentRecord, report: CleanupReport, now: datetime) -> None:
    """The end of a cleanup: completed, or failed while any resource remains."""
    state = record.state
    state.metadata["cleanup"] = report.model_dump(mode="json", exclude={"details", "errors"})
    if report.resources_failed:
        record.move_to(S.FAILED, now)
        state.phase = "cleanup_failed"
        state.error = f"{report.resources_failed} resources could not be deleted"
    else:
        record.move_to(S.COMPLETED, now)
        state.phase = "cleaned_up"
    state.desired_status = state.status
    record.log(
        f"Cleanup finished: {report.resources_deleted} deleted, {report.resources_failed} failed",
        now,
        "error" if report.resources_failed else "info",
    )
