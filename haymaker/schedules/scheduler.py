"""Schedules: create and change them, and the tick that starts their deployments.

Exactly one deployment per slot, however many ticks run it: a slot's deployment id is
derived from the schedule id and the slot (a second create collides with the first), the
orchestration is started only while the deployment is still pending (so a retried tick never
restarts a finished run), and the slot is then claimed with an ETag-guarded update of
`last_slot` (a tick that loses the race finds the slot claimed and changes nothing). Each step
can be repeated, so a tick interrupted anywhere is finished by the next one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from haymaker.clock import Clock, utc_now
from haymaker.errors import (
    ConflictError,
    DeploymentExistsError,
    DeploymentNotFoundError,
    HaymakerError,
    ScheduleNotFoundError,
)
from haymaker.lifecycle import DeployPolicy, Lifecycle
from haymaker.models import DeploymentConfig, DeploymentStatus
from haymaker.schedules.models import (
    CatchUp,
    RunOutcome,
    RunRecord,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    slot_deployment_id,
)
from haymaker.store import Stores
from haymaker.store.schedules import ScheduleRecord, ScheduleStore
from haymaker.workloads.registry import WorkloadRegistry

logger = logging.getLogger("haymaker.schedules")

Starter = Callable[[str], Awaitable[None]]  # make sure a pending deployment's run is started
DEFAULT_GRACE = timedelta(seconds=120)


@dataclass
class TickReport:
    started: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stale: int = 0


class Scheduler:
    def __init__(
        self,
        stores: Stores,
        registry: WorkloadRegistry,
        starter: Starter,
        *,
        clock: Clock = utc_now,
        grace: timedelta = DEFAULT_GRACE,
        concurrency: int = 16,
        policy: DeployPolicy | None = None,
    ) -> None:
        self.stores = stores
        self.schedules: ScheduleStore = stores.schedules
        self.registry = registry
        self.starter = starter
        self.clock = clock
        self.grace = grace
        self.lifecycle = Lifecycle(stores, registry, clock, policy)
        self._limit = asyncio.Semaphore(concurrency)

    # -- managing schedules ------------------------------------------------------------------

    async def create(self, spec: ScheduleSpec) -> ScheduleState:
        self.registry.manifest(spec.workload_name)  # an unknown workload is a 404
        now = self.clock()
        data = spec.model_dump()
        data["workload_config"] = self.lifecycle.validated_config(
            spec.workload_name, spec.workload_config
        )
        state = ScheduleState(
            **data, schedule_id=f"sch-{secrets.token_hex(5)}", created_at=now, updated_at=now
        )
        state.next_slot = self._next_slot(state, now)
        return (await self.schedules.create(state)).state

    async def update(self, schedule_id: str, patch: ScheduleUpdate) -> ScheduleState:
        changes = patch.model_dump(exclude_unset=True)
        now = self.clock()

        def change(record: ScheduleRecord) -> None:
            state = record.state
            if "workload_config" in changes:
                changes["workload_config"] = self.lifecycle.validated_config(
                    state.workload_name, patch.workload_config or {}
                )
            for name, value in changes.items():
                if value is None and name != "duration_hours":
                    continue
                setattr(state, name, value)
            if changes.keys() & {"cron", "time_zone", "enabled"}:
                state.next_slot = self._next_slot(state, now)
            state.updated_at = now

        record, _ = await self.schedules.update(schedule_id, change)
        return record.state

    async def delete(self, schedule_id: str) -> ScheduleState:
        return (await self.schedules.delete(schedule_id)).state

    def upcoming(self, state: ScheduleState, count: int = 5) -> list[datetime]:
        after = max(self.clock(), state.last_slot or self.clock())
        return state.schedule.upcoming(after, count, state.time_zone)

    def _next_slot(self, state: ScheduleState, now: datetime) -> datetime | None:
        if not state.enabled:
            return None
        after = max(now, state.last_slot) if state.last_slot else now
        return state.schedule.next_after(after, state.time_zone)

    # -- running them ------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """Start the deployments of every due schedule. Reads only due index rows."""
        now = self.clock()
        report = TickReport()
        due = await self.schedules.due(now)
        await asyncio.gather(
            *(self._guarded(slot, schedule_id, now, report) for slot, schedule_id in due)
        )
        return report

    async def _guarded(
        self, slot: datetime, schedule_id: str, now: datetime, report: TickReport
    ) -> None:
        async with self._limit:
            try:
                await self._fire(slot, schedule_id, now, report)
            except Exception:
                # one schedule's trouble must not stop the others; the next tick retries it
                logger.exception("schedule %s: slot %s not handled", schedule_id, slot)
                report.failed.append(schedule_id)

    async def _fire(
        self, slot: datetime, schedule_id: str, now: datetime, report: TickReport
    ) -> None:
        try:
            state = (await self.schedules.get(schedule_id)).state
        except ScheduleNotFoundError:
            state = None
        if state is None or not state.enabled or state.next_slot != slot:
            report.stale += 1
            await self.schedules.drop_index(slot, schedule_id)
            return
        latest = state.schedule.latest_due(state.last_slot, now, state.time_zone)
        active = await self._still_active(state.active_runs)
        run: RunRecord | None = None
        if latest is not None:
            run = await self._run(state, latest, now, active)
            (report.started if run.outcome == "started" else report.skipped).append(schedule_id)

        def claim(record: ScheduleRecord) -> None:
            current = record.state
            if latest is not None and current.last_slot is not None and current.last_slot >= latest:
                return  # another tick claimed this slot
            current.last_slot = latest or current.last_slot
            current.next_slot = self._next_slot(current, now)
            current.active_runs = _merge_runs(current.active_runs, state.active_runs, active, run)
            if run is not None:
                current.record(run)

        await self.schedules.update(schedule_id, claim)

    async def _run(
        self, state: ScheduleState, slot: datetime, now: datetime, active: list[str]
    ) -> RunRecord:
        def outcome(
            kind: RunOutcome, deployment_id: str | None = None, error: str | None = None
        ) -> RunRecord:
            return RunRecord(
                slot=slot, outcome=kind, deployment_id=deployment_id, error=error, at=now
            )

        if state.catch_up is CatchUp.SKIP and now - slot > self.grace:
            return outcome("skipped_missed")
        deployment_id = slot_deployment_id(state.schedule_id, slot)
        if deployment_id not in active and len(active) >= state.max_active:
            return outcome("skipped_max_active")
        try:
            await self._launch(state, slot, deployment_id)
        except HaymakerError as exc:  # e.g. the workload was uninstalled or its schema changed
            return outcome("failed", deployment_id, exc.detail)
        return outcome("started", deployment_id)

    async def trigger(self, schedule_id: str) -> str:
        """Run now, outside the cron; `max_active` still holds."""
        state = (await self.schedules.get(schedule_id)).state
        now = self.clock().replace(microsecond=0)
        active = await self._still_active(state.active_runs)
        if len(active) >= state.max_active:
            raise ConflictError(
                f"schedule {schedule_id} already has {len(active)} active run(s); max_active is "
                f"{state.max_active}"
            )
        deployment_id = slot_deployment_id(schedule_id, now)
        await self._launch(state, now, deployment_id)
        run = RunRecord(slot=now, outcome="triggered", deployment_id=deployment_id, at=now)

        def record_run(record: ScheduleRecord) -> None:
            record.state.active_runs = _merge_runs(
                record.state.active_runs, state.active_runs, active, run
            )
            record.state.record(run)

        await self.schedules.update(schedule_id, record_run)
        return deployment_id

    async def active_runs(self, schedule_id: str) -> list[str]:
        state = (await self.schedules.get(schedule_id)).state
        return await self._still_active(state.active_runs)

    async def _launch(self, state: ScheduleState, slot: datetime, deployment_id: str) -> None:
        request = DeploymentConfig(
            workload_name=state.workload_name,
            workload_config=state.workload_config,
            duration_hours=state.duration_hours,
            tags=state.tags,
            budget=state.budget,
        )
        try:
            record = await self.lifecycle.create(
                request, deployment_id=deployment_id, schedule=(state.schedule_id, slot)
            )
        except DeploymentExistsError:
            record = await self.stores.deployments.get(deployment_id)
        if record.state.status == DeploymentStatus.PENDING:
            await self.starter(deployment_id)

    async def _still_active(self, deployment_ids: list[str]) -> list[str]:
        active = []
        for deployment_id in deployment_ids:
            try:
                record = await self.stores.deployments.get(deployment_id)
            except DeploymentNotFoundError:
                continue
            if not record.state.is_terminal:
                active.append(deployment_id)
        return active


def _merge_runs(
    current: list[str], checked: list[str], active: list[str], run: RunRecord | None
) -> list[str]:
    """Runs still active: what was checked and found active, what was added since the check,
    and the run just started."""
    kept = [d for d in current if d in active or d not in checked]
    if run is not None and run.deployment_id and run.outcome in ("started", "triggered"):
        kept.append(run.deployment_id)
    return list(dict.fromkeys(kept))
