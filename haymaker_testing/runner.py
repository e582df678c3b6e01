"""Run a workload's steps in-process, with no host and no storage, the way the platform does:
the config validated by the manifest and `check_config`, a fresh workload object per step,
the step's result recorded by the platform's own `apply_step`, and the deployment's state
round-tripped through the deployments table's serialisation between steps."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from haymaker import keys
from haymaker.approvals import Approval, ApprovalRequest, ApprovalStatus, Decision
from haymaker.execution import apply_step, check_approval_request
from haymaker.llm import LLMClient, LLMError
from haymaker.models import DeploymentState, DeploymentStatus, Resource
from haymaker.store import DeploymentRecord, Progress
from haymaker.store.deployments import to_entity
from haymaker.workloads.base import StepContext, StepResult, Workload, WorkloadError
from haymaker.workloads.registry import WorkloadRegistry
from haymaker_testing.idempotence import RecordingLLM, ReplayingLLM, differences
from haymaker_testing.results import LogLine, StepRecord, WorkloadRun

S = DeploymentStatus

# How a test answers a step's approval request: a decision per key, or a function of the
# request giving the decision (or the decision and a comment).
Decide = Mapping[str, str] | Callable[[ApprovalRequest], str | tuple[str, str | None]]


class StepRunner:
    """Steps through one deployment of `workload`. Bad config raises ConfigError here."""

    def __init__(
        self,
        workload: type[Workload],
        config: dict[str, Any] | None = None,
        *,
        deployment_id: str | None = None,
        llm: LLMClient | None = None,
        now: datetime | None = None,
        check_idempotent: bool | Sequence[str] = False,
        decide: Decide | None = None,
    ) -> None:
        manifest = workload.manifest()
        self.decide = decide
        self.workload = workload
        self.config = WorkloadRegistry([workload]).validate_config(manifest.name, config)
        self.deployment_id = keys.deployment_id(deployment_id or f"{manifest.name}-test")
        self.llm = llm
        # True, or the paths a re-run may change (see idempotence.differences)
        self.check_idempotent = bool(check_idempotent)
        self.idempotent_ignore = () if isinstance(check_idempotent, bool) else check_idempotent
        self._now = now  # a fixed clock, moved only by the workload's resume_at
        self._skipped = timedelta(0)  # pauses (resume_at) skipped on the real clock
        started = self._clock()
        self.record = DeploymentRecord(
            DeploymentState(
                deployment_id=self.deployment_id,
                workload_name=manifest.name,
                status=S.RUNNING,
                phase=manifest.phases[0],
                created_at=started,
                started_at=started,
                config=self.config,
                metadata={"workload_version": manifest.version},
            )
        )
        self.steps: list[StepRecord] = []
        self.resources: dict[str, Resource] = {}
        self.log_entries: list[LogLine] = []
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.approvals: list[Approval] = []

    @property
    def phase(self) -> str:
        return self.record.state.phase

    @property
    def cursor(self) -> dict[str, Any]:
        return self.record.progress.cursor

    @property
    def metadata(self) -> dict[str, Any]:
        return self.record.state.metadata

    @property
    def status(self) -> str:
        return self.record.state.status.value

    @property
    def done(self) -> bool:
        return self.record.state.is_terminal

    async def step(self) -> StepRecord:
        """Run one step of the current phase. A step that fails the run raises its error
        (after retries, for errors the platform retries)."""
        record = await self._advance()
        if record is None:
            assert self.exception is not None
            raise self.exception
        return record

    async def run_phase(self, max_steps: int = 1000) -> list[StepRecord]:
        phase, records = self.phase, []
        while not self.done and self.phase == phase:
            self._guard(len(records), max_steps)
            records.append(await self.step())
        return records

    async def run(self, max_steps: int = 1000) -> WorkloadRun:
        """Steps until the run completes or fails; AssertionError after `max_steps` steps."""
        while not self.done:
            self._guard(len(self.steps), max_steps)
            await self._advance()
        return self.result()

    def result(self) -> WorkloadRun:
        return WorkloadRun(
            workload=self.workload,
            deployment_id=self.deployment_id,
            config=self.config,
            status=self.status,
            phase=self.phase,
            metadata=copy.deepcopy(self.metadata),
            steps=list(self.steps),
            resources=list(self.resources.values()),
            log_entries=list(self.log_entries),
            error=self.error,
            exception=self.exception,
            usage=self.record.state.usage,
            approvals=list(self.approvals),
        )

    # -- one step ----------------------------------------------------------------------------

    def _guard(self, steps: int, max_steps: int) -> None:
        if steps >= max_steps:
            raise AssertionError(
                f"{self.record.state.workload_name} did not finish in {max_steps} steps "
                f"(phase {self.phase}, cursor {self.cursor})"
            )

    async def _advance(self) -> StepRecord | None:
        if self.done:
            raise RuntimeError(f"the run is {self.status}: there is no step to run")
        now = self._clock()
        inputs = {
            "deployment_id": self.deployment_id,
            "phase": self.phase,
            "config": self.config,
            "cursor": self.cursor,
            "metadata": self.metadata,
            "now": now,
            "decisions": self.record.progress.decisions,
        }
        attempt = 0
        while True:
            attempt += 1
            recorder = RecordingLLM(self.llm) if self.llm is not None else None
            ctx = StepContext(**copy.deepcopy(inputs), llm_factory=_factory(recorder))
            try:
                result = await self._run(ctx)
                break
            except Exception as exc:
                if _fatal(exc):
                    self.log_entries.extend(ctx.logs)  # the platform keeps them too
                if _fatal(exc) or attempt >= _attempts():
                    self._fail(exc, now)
                    return None
        if self.check_idempotent:
            await self._check_rerun(inputs, recorder, (result, ctx.resources))
        return self._record(ctx, result, attempt)

    async def _run(self, ctx: StepContext) -> StepResult:
        result = await self.workload().run_step(ctx)
        phases = self.workload.manifest().phases
        check_approval_request(result, self.record.progress.phase_index, phases)
        for resource in ctx.resources:  # as the resources table would refuse them
            keys.table_key(resource.key, "resource name")
        return result

    def _record(self, ctx: StepContext, result: StepResult, attempts: int) -> StepRecord:
        step = StepRecord(
            index=self.record.progress.step,
            phase=ctx.phase,
            result=result,
            log_entries=list(ctx.logs),
            resources=list(ctx.resources),
            llm_usage=ctx.llm_usage,
            attempts=attempts,
        )
        approval = self._decided(result.approval) if result.approval is not None else None
        phases = self.workload.manifest().phases
        apply_step(self.record, phases, ctx, result, self._clock(), approval=approval)
        _store(self.record)
        self.steps.append(step)
        self.log_entries.extend(ctx.logs)
        self.resources.update((resource.key, resource) for resource in ctx.resources)
        if result.resume_at is not None:
            self._wait_until(result.resume_at)
        return step

    def _decided(self, request: ApprovalRequest) -> Approval:
        """The request, decided at once by the test's `decide`."""
        if self.decide is None:
            raise AssertionError(
                f"step {self.record.progress.step} asked for approval {request.key!r} "
                f"({request.question}): pass decide={{...}} to answer it"
            )
        if any(asked.key == request.key for asked in self.approvals):
            raise AssertionError(f"approval key {request.key!r} was used twice")
        now = self._clock()
        answer = self.decide(request) if callable(self.decide) else self.decide.get(request.key)
        if answer is None:
            raise AssertionError(f"decide has no decision for approval {request.key!r}")
        decision, comment = answer if isinstance(answer, tuple) else (answer, None)
        if decision not in request.options:
            raise AssertionError(
                f"decision {decision!r} for {request.key!r} is not one of {request.options}"
            )
        asked = Approval.requested(self.deployment_id, request, self.record.progress.step, now)
        approval = asked.model_copy(
            update={
                "status": ApprovalStatus.DECIDED,
                "decision": Decision(
                    decision=decision, comment=comment, decided_by="test", decided_at=now
                ),
            }
        )
        self.approvals.append(approval)
        return approval

    async def _check_rerun(
        self,
        inputs: dict[str, Any],
        recorder: RecordingLLM | None,
        first: tuple[StepResult, list[Resource]],
    ) -> None:
        replay = ReplayingLLM(recorder.calls) if recorder is not None else None
        ctx = StepContext(**copy.deepcopy(inputs), llm_factory=_factory(replay))
        where = f"step {self.record.progress.step} (phase {ctx.phase})"
        try:
            result = await self._run(ctx)
        except Exception as exc:
            raise AssertionError(
                f"{where} raised when re-run from the same inputs: {exc!r}"
            ) from exc
        found = differences(first, (result, ctx.resources), self.idempotent_ignore)
        if found:
            listing = "\n".join(f"  - {line}" for line in found)
            raise AssertionError(
                f"{where} is not idempotent: re-run from the same inputs,\n{listing}"
            )

    def _fail(self, exc: Exception, now: datetime) -> None:
        self.exception = exc
        self.error = str(exc) if _fatal(exc) else f"{type(exc).__name__}: {exc}"
        self.record.move_to(S.FAILED, now)
        self.record.state.error = self.error

    # -- the clock ---------------------------------------------------------------------------

    def _clock(self) -> datetime:
        return self._now if self._now is not None else datetime.now(UTC) + self._skipped

    def _wait_until(self, when: datetime) -> None:
        if self._now is not None:
            self._now = max(self._now, when)
        else:
            self._skipped += max(timedelta(0), when - self._clock())


async def run_workload(
    workload: type[Workload],
    config: dict[str, Any] | None = None,
    *,
    deployment_id: str | None = None,
    llm: LLMClient | None = None,
    now: datetime | None = None,
    max_steps: int = 1000,
    check_idempotent: bool | Sequence[str] = False,
    decide: Decide | None = None,
) -> WorkloadRun:
    """Run `workload` to the end in-process; a failure is a result, not an exception.
    Approvals the steps ask for are answered at once by `decide`."""
    runner = StepRunner(
        workload,
        config,
        deployment_id=deployment_id,
        llm=llm,
        now=now,
        check_idempotent=check_idempotent,
        decide=decide,
    )
    return await runner.run(max_steps)


def _factory(client: Any) -> Callable[[], Any] | None:
    """What StepContext calls for the step's client; None: the step has no model."""
    return None if client is None else lambda: client


def _fatal(exc: Exception) -> bool:
    """Fails the deployment at once (execution.Executor.run_step); other errors are retried."""
    return isinstance(exc, WorkloadError) or (isinstance(exc, LLMError) and not exc.retryable)


def _attempts() -> int:
    # Imported only when a step raised: it loads the Durable SDK.
    from orchestrators.deployment_run import STEP_RETRY

    return int(STEP_RETRY.max_number_of_attempts)


def _store(record: DeploymentRecord) -> None:
    """Hand the next step what the deployments table would: to_entity's JSON, with its size
    limits (PayloadTooLargeError), read back."""
    entity = to_entity(record)
    record.state.metadata = json.loads(entity["metadata"])
    record.progress = Progress.model_validate(json.loads(entity["progress"]))
    record.new_logs = []
