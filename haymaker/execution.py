"""What the deployment activities do: every status change an orchestration makes, each one an
idempotent, ETag-guarded write, so a step re-run after a crash changes nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from haymaker import budgets
from haymaker.approval_flow import (
    EXHAUSTED_KEY,
    ApprovalFlow,
    apply_decision,
    budget_request,
    end_wait,
    start_waiting,
)
from haymaker.approvals import Approval, ApprovalStatus
from haymaker.budgets import BudgetExhaustedError, Usage
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
from haymaker.errors import ConfigError, ConflictError
from haymaker.llm.base import LLMClient, LLMError
from haymaker.llm.prices import PriceTable
from haymaker.models import DeploymentStatus, LogLevel, StepMark, StepOutcome, numeric_metrics
from haymaker.settings import Settings
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
    approval: Approval | None = None,
) -> None:
    """Record a finished step on its deployment: its logs, its metadata merged over the old,
    its usage added up, the decisions it saw dropped, the approval it asks for awaited, and
    the cursor of the next step or the move to the next phase."""
    for level, message in ctx.logs:
        record.log(message, now, level)
    record.state.metadata.update(result.metadata)
    record.state.usage = record.state.usage.plus(ctx.llm_usage or Usage()).add_step()
    record.progress.decisions = {}
    record.progress.resume_at = result.resume_at
    record.progress.wake_event = wake_event if result.resume_at or approval else None
    if approval is not None:
        start_waiting(record, approval, now)
    record.new_steps.append(
        _mark(record.progress.step, ctx, result, now, approval, record.state.metadata)
    )
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
        record.new_steps[-1] = record.new_steps[-1].model_copy(update={"outcome": "completed"})
        record.log(f"Deployment completed after {record.progress.step} steps", now)


def check_approval_request(result: StepResult, phase_index: int, phases: Sequence[str]) -> None:
    """A step that completes the last phase leaves no step to see a decision: WorkloadError."""
    if result.approval is not None and result.phase_complete and phase_index + 1 >= len(phases):
        raise WorkloadError(
            f"approval {result.approval.key!r} was asked by the step that completes the last "
            "phase: no step is left to see the decision (ask in an earlier step)"
        )


def _mark(
    step: int,
    ctx: StepContext,
    result: StepResult,
    now: datetime,
    approval: Approval | None,
    metadata: dict[str, Any],
) -> StepMark:
    outcome: StepOutcome = "done"
    if approval is not None:
        outcome = "asked_approval"
    elif result.resume_at is not None:
        outcome = "paused"
    elif result.phase_complete:
        outcome = "phase_complete"
    usage = ctx.llm_usage
    return StepMark(
        step=step,
        phase=ctx.phase,
        started_at=ctx.now,
        finished_at=now,
        outcome=outcome,
        llm_calls=usage.llm_calls if usage else 0,
        metrics=numeric_metrics(metadata),
    )


class Executor:
    """The activities' side of a deployment, over explicit stores, workloads and clock."""

    def __init__(
        self,
        stores: Stores,
        registry: WorkloadRegistry,
        clock: Clock = utc_now,
        llm: Callable[..., LLMClient] | None = None,
        *,
        prices: PriceTable | None = None,
        budget_wait: timedelta = timedelta(hours=24),
        settings: Settings | None = None,
    ) -> None:
        self.stores = stores
        self.registry = registry
        self.clock = clock
        self.llm = llm  # None: steps that ask for a model fail with a clear error
        self.prices = prices  # None: every model's cost is unknown
        self.budget_wait = budget_wait  # how long an exhausted budget waits for a raise
        self.settings = settings  # for workloads that read settings of their own
        self.approvals = ApprovalFlow(stores, clock)

    async def reconcile(self, request: ReconcileRequest) -> DeploymentView:
        settled = await self._settled_approval(request.deployment_id)
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            state = record.state
            if settled is not None:
                apply_decision(record, settled, now)
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
            waiting = state.awaiting_approval is not None
            idle = state.status == S.STOPPED or (state.status == S.RUNNING and (pausing or waiting))
            record.progress.wake_event = request.wake_event if idle else None

        record, _ = await self.stores.mutate(request.deployment_id, change)
        return view_of(record)

    async def _settled_approval(self, deployment_id: str) -> Approval | None:
        """The approval the deployment waits for, once decided (or timed out)."""
        record = await self.stores.deployments.get(deployment_id)
        pending = record.state.awaiting_approval
        if pending is None:
            return None
        return await self.approvals.settled_or_expired(deployment_id, pending.key)

    async def run_step(self, request: StepRequest) -> DeploymentView:
        record = await self.stores.deployments.get(request.deployment_id)
        state = record.state
        runnable = state.status == S.RUNNING and state.desired_status == S.RUNNING
        if record.progress.step != request.step or not runnable or state.awaiting_approval:
            return view_of(record)  # done by an earlier run, told to stop, or waiting
        exhaustion = budgets.exhausted(state.budget, state.usage, state.started_at, self.clock())
        if exhaustion is not None:
            return await self._ask_for_budget(request, record, exhaustion)
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
            check_approval_request(result, record.progress.phase_index, workload.phases)
        except BudgetExhaustedError as exc:
            return await self._ran_out_mid_step(request, ctx, str(exc))
        except (WorkloadError, LLMError) as exc:
            if isinstance(exc, LLMError) and exc.retryable:
                logger.warning(
                    "step %d: the LLM failed, the step will be retried: %s", request.step, exc
                )
                raise  # the orchestrator's retry policy runs the step again
            logger.error("step %d failed the deployment: %s", request.step, exc)
            # What the step logged before it gave up explains the failure: keep it.
            return await self._fail(request.deployment_id, str(exc), step_logs=ctx.logs)
        approval = None
        if result.approval is not None:
            asked = Approval.requested(
                request.deployment_id, result.approval, request.step, self.clock()
            )
            approval = await self._ask(asked)
        return await self._record_step(request, record, workload.phases, ctx, result, approval)

    async def _ask(self, approval: Approval) -> Approval:
        try:
            return await self.stores.approvals.ask(approval)
        except ConflictError as exc:
            raise WorkloadError(exc.detail) from None

    async def _ask_for_budget(
        self, request: StepRequest, record: DeploymentRecord, exhaustion: budgets.Exhaustion
    ) -> DeploymentView:
        """Pause on an approval that may raise the budget, before the step runs."""
        asked = record.progress.budget_asks + 1
        approval = await self._ask(
            Approval.requested(
                request.deployment_id,
                budget_request(exhaustion, asked, self.budget_wait),
                request.step,
                self.clock(),
                budget=True,
            )
        )
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            if record.progress.step != request.step or record.state.awaiting_approval:
                return
            record.progress.budget_asks = asked
            record.progress.wake_event = request.wake_event
            record.state.metadata[EXHAUSTED_KEY] = exhaustion.describe()
            start_waiting(record, approval, now)

        record, _ = await self.stores.mutate(request.deployment_id, change)
        return await self._caught_up(request.deployment_id, record, approval)

    async def _ran_out_mid_step(
        self, request: StepRequest, ctx: StepContext, why: str
    ) -> DeploymentView:
        """A model call would have gone past the budget: count what the step's calls used
        (they were paid for), forget the rest of the step, and ask for a raise."""
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            if record.progress.step == request.step and ctx.llm_usage is not None:
                record.state.usage = record.state.usage.plus(ctx.llm_usage)
                record.log(
                    f"Step {request.step} stopped: {why}; it runs again once raised",
                    now,
                    "warning",
                )

        record, _ = await self.stores.mutate(request.deployment_id, change)
        state = record.state
        exhaustion = budgets.exhausted(state.budget, state.usage, state.started_at, now)
        if exhaustion is None:  # the call would have passed the limit, not reached it
            tokens = float(state.usage.llm_tokens)
            exhaustion = budgets.Exhaustion("max_llm_tokens", tokens, tokens)
        return await self._ask_for_budget(request, record, exhaustion)

    async def _caught_up(
        self, deployment_id: str, record: DeploymentRecord, approval: Approval
    ) -> DeploymentView:
        """A decision that landed while the request was being recorded rang no doorbell
        (none was named yet): take it now instead of waiting for it."""
        if record.state.awaiting_approval is None or approval.status is not ApprovalStatus.PENDING:
            return view_of(record)
        settled = await self.approvals.settled_or_expired(deployment_id, approval.key)
        if settled is None:
            return view_of(record)
        now = self.clock()

        def take(current: DeploymentRecord) -> None:
            apply_decision(current, settled, now)
            progress = current.progress
            if current.state.status == S.RUNNING and current.state.awaiting_approval is None:
                # Running on: its doorbell must not ring while no wait is open for it.
                progress.wake_event = progress.wake_event if progress.resume_at else None

        record, _ = await self.stores.mutate(deployment_id, take)
        return view_of(record)

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
            decisions=dict(record.progress.decisions),
            llm_allowance=budgets.allowance(record.state.budget, record.state.usage),
            prices=self.prices,
            stores=self.stores,
            settings=self.settings,
        )

    async def _record_step(
        self,
        request: StepRequest,
        record: DeploymentRecord,
        phases: list[str],
        ctx: StepContext,
        result: StepResult,
        approval: Approval | None,
    ) -> DeploymentView:
        # Resources are keyed by name, so a re-run step rewrites rather than duplicates them.
        await self.stores.resources.put(request.deployment_id, ctx.resources)
        done_at = self.clock()

        def change(record: DeploymentRecord) -> None:
            if record.progress.step == request.step:
                apply_step(record, phases, ctx, result, done_at, request.wake_event, approval)

        record, _ = await self.stores.mutate(request.deployment_id, change, current=record)
        logger.info(
            "step %d done: %s, phase %s", request.step, record.state.status, record.state.phase
        )
        if approval is not None:
            return await self._caught_up(request.deployment_id, record, approval)
        return view_of(record)

    async def cleanup(self, request: CleanupRequest) -> CleanupProgress:
        return await Cleanup(self.stores, self.registry, self.clock, self.settings).run(request)

    async def _fail(
        self, deployment_id: str, error: str, step_logs: Sequence[tuple[LogLevel, str]] = ()
    ) -> DeploymentView:
        failure = FinishRequest(deployment_id=deployment_id, outcome="failed", error=error)
        return await self.finish(failure, step_logs=step_logs)

    async def finish(
        self, request: FinishRequest, step_logs: Sequence[tuple[LogLevel, str]] = ()
    ) -> DeploymentView:
        await self.approvals.cancel(await self.stores.deployments.get(request.deployment_id))
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            state = record.state
            if state.is_terminal:
                return
            end_wait(record, now)
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
