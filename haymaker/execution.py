"""What the deployment activities do: every status change an orchestration makes, each one an
idempotent, ETag-guarded write, so a step re-run after a crash changes nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from haymaker.cleanup import Cleanup
from haymaker.clock import Clock, utc_now
from haymaker.contracts import (
    CleanupProgress,
    CleanupRequest,
    DeploymentView,
    FinishRequest,
    ReconcileRequest,
    StepRequest,
)
from haymaker.errors import ConfigError
from haymaker.llm.base import LLMClient, LLMError, LLMUsage
from haymaker.models import DeploymentStatus, LogLevel
from haymaker.store import DeploymentRecord, Stores
from haymaker.telemetry import set_phase
from haymaker.transitions import is_legal
from haymaker.views import view_of
from haymaker.workloads.base import (
    StepContext,
    StepResult,
    Workload,
    WorkloadError,
)
from haymaker.workloads.registry import WorkloadRegistry

S = DeploymentStatus
logger = logging.getLogger("haymaker.execution")


def apply_step(
    record: DeploymentRecord,
    phases: list[str],
    ctx: StepContext,
    result: StepResult,
    now: datetime,
    wake_event: str | None = None,
) -> None:
    """Record a finished step on its deployment: its logs, its metadata merged over the old,
    its LLM usage added up, and the cursor of the next step or the move to the next phase."""
    for level, message in ctx.logs:
        record.log(message, now, level)
    record.state.metadata.update(result.metadata)
    record.progress.resume_at = result.resume_at
    record.progress.wake_event = wake_event if result.resume_at else None
    if ctx.llm_usage:
        spent = LLMUsage.model_validate(record.state.metadata.get("llm_usage") or {})
        total = spent.add(LLMUsage.model_validate(ctx.llm_usage))
        record.state.metadata["llm_usage"] = total.model_dump()
    record.progress.step += 1
    if not result.phase_complete:
        record.progress.cursor = result.cursor
        return
    record.progress.cursor = {}
    record.progress.phase_index += 1
    if record.progress.phase_index < len(phases):
        record.state.phase = phases[record.progress.phase_index]
        record.log(f"Phase {record.state.phase} started", now)
    else:
        record.move_to(S.COMPLETED, now)
        record.state.phase = "completed"
        record.log(f"Deployment completed after {record.progress.step} steps", now)


class Executor:
    """The activities' side of a deployment, over explicit stores, workloads and clock."""

    def __init__(
        self,
        stores: Stores,
        registry: WorkloadRegistry,
        clock: Clock = utc_now,
        llm: Callable[[], LLMClient] | None = None,
    ) -> None:
        self.stores = stores
        self.registry = registry
        self.clock = clock
        self.llm = llm  # None: steps that ask for a model fail with a clear error

    async def reconcile(self, request: ReconcileRequest) -> DeploymentView:
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            state = record.state
            if state.status == S.PENDING and state.desired_status in (S.RUNNING, S.STOPPED):
                phases = self.registry.manifest(state.workload_name).phases
                record.move_to(S.RUNNING, now)
                state.started_at = now
                state.phase = phases[0]
                if state.duration_hours is not None:
                    state.deadline = now + timedelta(hours=state.duration_hours)
                record.log(f"Deployment started: phase {state.phase}", now)
            if state.status == S.RUNNING and state.desired_status == S.STOPPED:
                record.move_to(S.STOPPED, now)
                record.log(f"Stopped after {record.progress.step} steps (phase {state.phase})", now)
            elif state.status == S.STOPPED and state.desired_status == S.RUNNING:
                record.move_to(S.RUNNING, now)
                state.stopped_at = None
                record.log(f"Resumed at step {record.progress.step} (phase {state.phase})", now)
            pausing = record.progress.resume_at is not None and record.progress.resume_at > now
            idle = state.status == S.STOPPED or (state.status == S.RUNNING and pausing)
            record.progress.wake_event = request.wake_event if idle else None

        record, _ = await self.stores.mutate(request.deployment_id, change)
        return view_of(record)

    async def run_step(self, request: StepRequest) -> DeploymentView:
        record = await self.stores.deployments.get(request.deployment_id)
        state = record.state
        runnable = state.status == S.RUNNING and state.desired_status == S.RUNNING
        if record.progress.step != request.step or not runnable:
            return view_of(record)  # done by an earlier run of this step, or told to stop
        workload = self.registry.create(state.workload_name)
        set_phase(workload.phases[record.progress.phase_index])
        try:
            # A config that no longer satisfies its schema (the workload changed since the
            # deploy, or a record was edited) is poison: fail clearly instead of retrying.
            config = self.registry.validate_config(state.workload_name, state.config)
        except ConfigError as exc:
            logger.error("step %d: config is not valid: %s", request.step, exc.detail)
            return await self._fail(request.deployment_id, f"config is not valid: {exc.detail}")
        ctx = self._step_context(record, workload, config)
        try:
            result = await workload.run_step(ctx)
        except (WorkloadError, LLMError) as exc:
            if isinstance(exc, LLMError) and exc.retryable:
                logger.warning(
                    "step %d: the LLM failed, the step will be retried: %s", request.step, exc
                )
                raise  # the orchestrator's retry policy runs the step again
            logger.error("step %d failed the deployment: %s", request.step, exc)
            # What the step logged before it gave up explains the failure: keep it.
            return await self._fail(request.deployment_id, str(exc), step_logs=ctx.logs)
        return await self._record_step(request, workload.phases, ctx, result)

    def _step_context(
        self, record: DeploymentRecord, workload: Workload, config: dict[str, Any]
    ) -> StepContext:
        return StepContext(
            deployment_id=record.deployment_id,
            phase=workload.phases[record.progress.phase_index],
            config=config,
            cursor=record.progress.cursor,
            metadata=dict(record.state.metadata),
            now=self.clock(),
            llm_factory=self.llm,
        )

    async def _record_step(
        self, request: StepRequest, phases: list[str], ctx: StepContext, result: StepResult
    ) -> DeploymentView:
        # Resources are keyed by name, so a re-run step rewrites rather than duplicates them.
        await self.stores.resources.put(request.deployment_id, ctx.resources)
        done_at = self.clock()

        def change(record: DeploymentRecord) -> None:
            if record.progress.step == request.step:
                apply_step(record, phases, ctx, result, done_at, request.wake_event)

        record, _ = await self.stores.mutate(request.deployment_id, change)
        logger.info(
            "step %d done: %s, phase %s", request.step, record.state.status, record.state.phase
        )
        return view_of(record)

    async def cleanup(self, request: CleanupRequest) -> CleanupProgress:
        return await Cleanup(self.stores, self.registry, self.clock).run(request)

    async def _fail(
        self, deployment_id: str, error: str, step_logs: Sequence[tuple[LogLevel, str]] = ()
    ) -> DeploymentView:
        failure = FinishRequest(deployment_id=deployment_id, outcome="failed", error=error)
        return await self.finish(failure, step_logs=step_logs)

    async def finish(
        self, request: FinishRequest, step_logs: Sequence[tuple[LogLevel, str]] = ()
    ) -> DeploymentView:
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            state = record.state
            if state.is_terminal:
                return
            if request.outcome == "expired":
                record.move_to(S.COMPLETED, now)
                state.phase = "expired"
                state.metadata["deadline_reached"] = True
                record.log("Deadline reached: the deployment's duration is over", now)
                return
            for level, message in step_logs:
                record.log(message, now, level)
            state.error = request.error or "unknown error"
            if is_legal(state.status, S.FAILED):
                record.move_to(S.FAILED, now)
            record.log(f"Deployment failed: {state.error}", now, "error")

        record, _ = await self.stores.mutate(request.deployment_id, change)
        return view_of(record)
