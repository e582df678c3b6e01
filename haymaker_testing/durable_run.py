"""One deployment under the DurableHarness: the real orchestrator driven event by event, the
real activities, and the lifecycle commands as the HTTP API sends them."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from devhost.invoke import ActivityOutcome
from devhost.replay import ActivityCall
from haymaker.approvals import Approval
from haymaker.contracts import ORCHESTRATOR, ActivityName, RunInput
from haymaker.lifecycle import CommandOutcome
from haymaker.llm import LLMClient
from haymaker.models import DeploymentState, Resource
from haymaker.store import DeploymentRecord
from haymaker.transitions import Command
from haymaker_testing.orchestration import InlineOrchestration

if TYPE_CHECKING:
    from haymaker_testing.durable import DurableHarness

# Short names for fail_activity; the activities' own names work too.
ACTIVITIES = {
    "reconcile": ActivityName.RECONCILE,
    "run_step": ActivityName.RUN_STEP,
    "cleanup": ActivityName.CLEANUP,
    "finish": ActivityName.FINISH,
}


class DurableRun:
    def __init__(self, harness: DurableHarness, deployment_id: str) -> None:
        self.harness = harness
        self.deployment_id = deployment_id
        self._llm: LLMClient | None = None
        self._failures: dict[str, deque[str]] = {}
        # One per orchestration started for the deployment (cleanup after the end starts one).
        self.orchestrations: list[InlineOrchestration] = []
        self._start_orchestration()

    @property
    def orchestration(self) -> InlineOrchestration:
        return self.orchestrations[-1]

    @property
    def llm(self) -> LLMClient | None:
        """The model the activities get for this deployment (default: the harness's)."""
        return self._llm if self._llm is not None else self.harness.llm

    @llm.setter
    def llm(self, client: LLMClient | None) -> None:
        self._llm = client

    @property
    def done(self) -> bool:
        return self.orchestration.done

    @property
    def output(self) -> Any:
        """What the latest orchestration returned (with a cleanup's `report`)."""
        return self.orchestration.output

    # -- driving -----------------------------------------------------------------------------

    async def run_to_completion(self, max_rounds: int = 10_000) -> None:
        """Run activities, and fire timers in virtual time when only timers remain, until the
        orchestration ends or waits for a command (stopped: use advance() to pass a deadline)."""
        with self.harness.driving(self):
            await self.orchestration.run_to_completion(max_rounds, self._timer_may_fire)

    async def steps(self, n: int) -> None:
        """Run exactly `n` activity calls (any kind), firing timers that come between them."""
        orchestration = self.orchestration
        with self.harness.driving(self):
            for done in range(n):
                while not orchestration.pending and self._timer_may_fire():
                    orchestration.fire_next_timer()
                if not orchestration.pending:
                    state = "ended" if orchestration.done else "waits for a command"
                    raise AssertionError(f"only {done} of {n} activity calls ran: the run {state}")
                await orchestration.run_activity()

    def advance(self, delta: timedelta) -> None:
        """Move the orchestration's clock on (a deadline passes, a timer comes due)."""
        self.orchestration.advance(delta)

    def _timer_may_fire(self) -> bool:
        """Any timer, in virtual time, while the deployment runs (pauses, retries); while it
        is stopped only a timer already due (see advance), or it would never stay stopped."""
        timers = self.orchestration.timers.values()
        if not timers:
            return False
        status = self.orchestration.custom_status or {}
        waiting = status.get("status") == "stopped" or status.get("awaiting") is not None
        return not waiting or min(t.fire_at for t in timers) <= self.orchestration.now

    def _start_orchestration(self) -> None:
        run = RunInput(deployment_id=self.deployment_id, run_id=f"r{len(self.orchestrations) + 1}")
        now = max([o.now for o in self.orchestrations], default=datetime.now(UTC))
        self.orchestrations.append(
            InlineOrchestration(
                self.harness.app,
                ORCHESTRATOR,
                self.deployment_id,
                run.to_payload(),
                now=now,
                hook=self._hook,
            )
        )

    # -- commands ----------------------------------------------------------------------------

    async def stop(self) -> CommandOutcome:
        return await self.command(Command.STOP)

    async def start(self) -> CommandOutcome:
        return await self.command(Command.START)

    async def cleanup(self) -> CommandOutcome:
        return await self.command(Command.CLEANUP)

    async def command(self, command: Command) -> CommandOutcome:
        """Record the desired status, then do what api.orchestration.notify does: ring the
        doorbell of the live run, or start a new run when none is live."""
        outcome = await self.harness.lifecycle.command(self.deployment_id, command)
        if not outcome.accepted:
            return outcome
        record = outcome.record
        if not self.orchestration.done and not record.state.is_terminal:
            if record.progress.wake_event:
                self.orchestration.raise_event(record.progress.wake_event)
            return outcome
        if not self.orchestration.done:
            await self.run_to_completion()  # the API waits for the finished run to end
        self._start_orchestration()
        return outcome

    async def decide(
        self,
        key: str,
        decision: str,
        comment: str | None = None,
        *,
        raise_budget: dict[str, float] | None = None,
        decided_by: str = "test",
    ) -> Approval:
        """Decide approval `key` as a person would through the API: settle it, then ring
        the deployment's doorbell (ApprovalError-style problems raise as in the API)."""
        from haymaker.approval_flow import ApprovalFlow
        from haymaker.approvals import DecisionRequest

        flow = ApprovalFlow(self.harness.stores, self.orchestration._clock)
        request = DecisionRequest(decision=decision, comment=comment, raise_=raise_budget)
        approval = await flow.decide(self.deployment_id, key, request, decided_by)
        record = await self.record()
        if not self.orchestration.done and record.progress.wake_event:
            self.orchestration.raise_event(record.progress.wake_event)
        return approval

    async def approvals(self) -> list[Approval]:
        page = await self.harness.stores.approvals.of_deployment(self.deployment_id, limit=1000)
        return page.items

    # -- failures ----------------------------------------------------------------------------

    def fail_activity(self, name: str, times: int = 1, error: str = "injected failure") -> None:
        """Answer the next `times` calls of activity `name` (run_step, reconcile, cleanup,
        finish) with a failure whose message is `error`, without running them."""
        activity = ACTIVITIES.get(name, name)
        if activity not in ACTIVITIES.values():
            known = ", ".join([*ACTIVITIES, *ACTIVITIES.values()])
            raise ValueError(f"no activity {name!r} (known: {known})")
        self._failures.setdefault(activity, deque()).extend([error] * times)

    async def _hook(self, call: ActivityCall) -> ActivityOutcome | None:
        failures = self._failures.get(call.name)
        if not failures:
            return None
        error = failures.popleft()
        return ActivityOutcome(reason=error, details=f"{error}\n(injected by the test harness)")

    # -- what happened -----------------------------------------------------------------------

    def activity_names(self) -> list[str]:
        return [name for o in self.orchestrations for name in o.activity_names()]

    def activity_calls(self) -> list[tuple[str, Any]]:
        """Every activity call so far, with its input."""
        return [call for o in self.orchestrations for call in o.calls]

    async def record(self) -> DeploymentRecord:
        return await self.harness.stores.deployments.get(self.deployment_id)

    async def state(self) -> DeploymentState:
        return (await self.record()).state

    async def logs(self) -> list[str]:
        """The deployment's log, every line, in order."""
        total = (await self.record()).progress.log_count
        entries = await self.harness.stores.logs.read(
            self.deployment_id, total=total, limit=max(total, 1)
        )
        return [entry.message for entry in entries]

    async def resources(self) -> list[Resource]:
        found: list[Resource] = []
        continuation = None
        while True:
            page = await self.harness.stores.resources.page(
                self.deployment_id, limit=1000, continuation=continuation
            )
            found.extend(page.items)
            continuation = page.continuation
            if continuation is None:
                return found
