"""Approvals and budgets under the DurableHarness: the real orchestrator and activities, in
virtual time. A day-long approval times out on its durable timer; a wall-clock budget runs
out while the workload pauses; a decision that lands while the step is still recording its
request is taken at once (no doorbell was named yet to ring); the orchestration, waiting,
schedules nothing but its doorbell and one timer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from haymaker.approval_flow import ApprovalFlow
from haymaker.approvals import Approval, ApprovalStatus, DecisionRequest
from haymaker.models import DeploymentConfig, DeploymentStatus
from haymaker.store.approvals import ApprovalStore
from haymaker_testing import DurableHarness
from haymaker_testing.durable_run import DurableRun
from tests.support.flaky import FlakyWorkload

S = DeploymentStatus
ASKING = {"item_count": 5, "item_delay_ms": 0, "approve_before_report": True}


@pytest.fixture
async def harness(storage_connection):
    async with DurableHarness(workloads=[FlakyWorkload], storage=storage_connection) as harness:
        yield harness


async def deploy_with_budget(harness, workload: str, config: dict, budget: dict) -> DurableRun:
    request = DeploymentConfig.model_validate(
        {"workload": workload, "config": config, "budget": budget}
    )
    record = await harness.lifecycle.create(request)
    run = DurableRun(harness, record.deployment_id)
    harness.runs.append(run)
    return run


async def test_a_day_long_approval_times_out_on_its_timer(harness):
    run = await harness.deploy("data-collector", {**ASKING, "approval_timeout_seconds": 86_400})
    await run.steps(4)  # reconcile, initialize, the batch, the step that asks
    waiting = await run.state()
    assert waiting.awaiting_approval is not None
    # Idle: no activity is scheduled, one timer is set, for the approval's expiry.
    orchestration = run.orchestration
    assert orchestration.pending == []
    [timer] = orchestration.timers.values()
    assert timer.fire_at == waiting.awaiting_approval.expires_at
    assert orchestration.waiting_for[-1].startswith("wake-")

    await run.run_to_completion()  # nothing happens: the run waits, its timer not yet due
    assert (await run.state()).awaiting_approval is not None
    run.advance(timedelta(days=1))  # a day passes in virtual time: the timer comes due
    await run.run_to_completion()
    final = await run.state()
    assert final.status == S.COMPLETED
    assert final.metadata["report_approved"] is False
    approval = await harness.stores.approvals.get(run.deployment_id, "report")
    assert approval.decision is not None
    assert approval.decision.timed_out
    assert approval.decision.decided_at >= approval.expires_at
    assert "Approval report: reject on timeout" in await run.logs()


async def test_a_wall_clock_budget_runs_out_while_pausing_and_its_approval_times_out(harness):
    # Ten steps twenty minutes apart; the budget allows one hour.
    config = {"steps": 10, "pause_seconds": 1200}
    run = await deploy_with_budget(harness, "flaky-collector", config, {"max_wall_hours": 1})
    await run.run_to_completion()  # the pauses' timers fire; then it waits for a raise
    asked = await run.state()
    assert asked.awaiting_approval is not None
    assert asked.awaiting_approval.key == "budget-1"
    run.advance(timedelta(hours=24))  # nobody raises it: the request times out
    await run.run_to_completion()
    final = await run.state()
    assert final.status == S.STOPPED
    assert final.desired_status == S.STOPPED
    assert final.metadata["done"] == 3  # at 0, 20 and 40 minutes; at 60 the budget is spent
    assert final.metadata["budget_exhausted"].startswith("max_wall_hours used 1")
    approval = await harness.stores.approvals.get(run.deployment_id, "budget-1")
    assert approval.budget
    assert approval.decision is not None
    assert approval.decision.timed_out
    assert approval.expires_at - approval.requested_at == timedelta(hours=24)
    lines = await run.logs()
    assert "Budget not raised: stopped (start it to ask again)" in lines


async def test_a_decision_that_lands_while_the_request_is_recorded_is_taken(harness, monkeypatch):
    """The approver answers between the approval row's write and the deployment's: the API
    finds no doorbell to ring, and the step takes the decision itself."""
    asked = ApprovalStore.ask
    flow = ApprovalFlow(harness.stores, lambda: harness.runs[-1].orchestration.now)

    async def answered_at_once(store: ApprovalStore, approval: Approval) -> Approval:
        recorded = await asked(store, approval)
        request = DecisionRequest(decision="approve", comment="fast")
        await flow.decide(approval.deployment_id, approval.key, request, "speedy")
        record = await harness.stores.deployments.get(approval.deployment_id)
        assert record.progress.wake_event is None  # nothing the API could ring
        return recorded

    monkeypatch.setattr(ApprovalStore, "ask", answered_at_once)
    run = await harness.deploy("data-collector", ASKING)
    await run.steps(4)
    after_ask = await run.record()
    assert after_ask.state.awaiting_approval is None  # taken at once: the run goes on
    assert after_ask.progress.wake_event is None  # and rings for nobody while it runs
    assert run.orchestration.timers == {}
    await run.run_to_completion()
    final = await run.state()
    assert final.metadata["report_approved"] is True
    lines = await run.logs()
    assert "Approval report: approve by speedy (fast)" in lines
    approval = await harness.stores.approvals.get(run.deployment_id, "report")
    assert approval.status is ApprovalStatus.DECIDED


async def test_a_step_that_completes_the_last_phase_cannot_ask(harness):
    from haymaker.approvals import ApprovalRequest
    from haymaker.workloads.base import StepContext, StepResult

    class LastWord(FlakyWorkload):
        @classmethod
        def manifest(cls):
            return FlakyWorkload.manifest().model_copy(update={"name": "last-word"})

        async def run_step(self, ctx: StepContext) -> StepResult:
            ask = ApprovalRequest(key="done", question="finish?")
            return StepResult(phase_complete=True, approval=ask)

    run = await harness.deploy(LastWord, {})
    await run.run_to_completion()
    final = await run.state()
    assert final.status == S.FAILED
    assert "completes the last phase" in (final.error or "")
