"""The deployment orchestration's logic (orchestrators/deployment.py registers it).

The deployments table holds the truth. Each activity returns the deployment's desired status
with its result, so the loop below learns of stop, start and cleanup at the next step
boundary; while stopped it waits for a doorbell event named on the entity, raced against a
fresh timer, and re-reads the table whenever it wakes. See docs/orchestration.md.
"""

from collections.abc import Generator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import azure.durable_functions as df

from haymaker.contracts import (
    ORCHESTRATOR,
    ActivityName,
    CleanupProgress,
    CleanupRequest,
    Contract,
    DeploymentView,
    FinishRequest,
    ReconcileRequest,
    RunInput,
    StepRequest,
)
from haymaker.models import TERMINAL_STATUSES, DeploymentStatus

S = DeploymentStatus
C = TypeVar("C", bound=Contract)
Orchestration = Generator[Any, Any, C]

# Steps do the workload's (possibly flaky) work; state changes are quick table writes.
STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=3)
STATE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1_000, max_number_of_attempts=5)
# About four history events per step or wait: a generation's history stays near 170 events.
STEPS_PER_GENERATION = 40
# Durable timers in Python must stay under 6 days; an idle generation renews itself at this.
MAX_IDLE_WAIT = timedelta(days=5)


class Wake(StrEnum):
    """What ended an idle wait."""

    DOORBELL = "doorbell"  # the API recorded a command: re-read the table
    RESUME = "resume"  # the workload's pause (resume_at) is over
    APPROVAL_TIMEOUT = "approval_timeout"  # nobody decided in time: the timeout decides
    DEADLINE = "deadline"  # the deployment's duration ran out
    RENEW = "renew"  # idle for a whole timer: time for a fresh history


def run(context: df.DurableOrchestrationContext) -> Orchestration[Any]:
    """The whole orchestration of one deployment generation."""
    run_input = RunInput.model_validate(context.get_input())
    try:
        return (yield from _run(context, run_input))
    except Exception as exc:  # an activity failed after its retries
        view = yield from _finish(context, run_input, "failed", _failure_message(exc))
        return _outcome(view)


def _run(context: df.DurableOrchestrationContext, run: RunInput) -> Orchestration[Any]:
    waits = 0
    view = yield from _reconcile(context, run, waits)
    work = 0  # steps and waits in this generation, about four history events each
    while True:
        _publish(context, view)
        if view.desired_status == S.CLEANING_UP:
            return (yield from _cleanup(context, run))
        if view.status in TERMINAL_STATUSES:
            return _outcome(view)
        if _expired(context, view.deadline):
            view = yield from _finish(context, run, "expired")
            continue
        idle = _idle(context, view)
        if view.status != view.desired_status or (idle and not view.wake_event):
            view = yield from _reconcile(context, run, waits)
            continue
        if work >= STEPS_PER_GENERATION:
            context.continue_as_new(_next_generation(run))  # keep the history short
            return None
        work += 1
        if idle:  # stopped, or pausing until the workload's next step is due
            woke = yield from _wait_for_doorbell(context, view)
            waits += 1
            if woke is Wake.DEADLINE:
                view = yield from _finish(context, run, "expired")
            elif woke is Wake.RENEW:
                context.continue_as_new(_next_generation(run))
                return None
            elif woke is Wake.RESUME:
                view = view.model_copy(update={"resume_at": None})
            else:
                view = yield from _reconcile(context, run, waits)
            continue
        request = StepRequest(
            deployment_id=run.deployment_id,
            step=view.step,
            wake_event=_wake(run, waits),
            traceparent=run.traceparent,
        )
        view = yield from _activity(
            context, ActivityName.RUN_STEP, request, DeploymentView, STEP_RETRY
        )


def _idle(context: df.DurableOrchestrationContext, view: DeploymentView) -> bool:
    if view.status == S.STOPPED or view.approval_key is not None:
        return True
    return view.resume_at is not None and context.current_utc_datetime < view.resume_at


def _wait_for_doorbell(
    context: df.DurableOrchestrationContext, view: DeploymentView
) -> Orchestration[Wake]:
    """Wait, without polling, for the event named in the entity or for a fresh timer set
    for the earliest of the workload's resume time, the approval's timeout, the deadline and
    the idle limit."""
    assert view.wake_event is not None
    fire_at, reason = context.current_utc_datetime + MAX_IDLE_WAIT, Wake.RENEW
    pausing = view.status == S.RUNNING and view.approval_key is None
    if pausing and view.resume_at is not None and view.resume_at < fire_at:
        fire_at, reason = view.resume_at, Wake.RESUME
    if view.approval_expires_at is not None and view.approval_expires_at < fire_at:
        fire_at, reason = (
            max(view.approval_expires_at, context.current_utc_datetime),
            Wake.APPROVAL_TIMEOUT,
        )
    if view.deadline is not None and view.deadline <= fire_at:
        fire_at, reason = view.deadline, Wake.DEADLINE
    doorbell = context.wait_for_external_event(view.wake_event)
    timer = context.create_timer(fire_at)
    winner = yield context.task_any([doorbell, timer])
    if winner is not timer:
        timer.cancel()
        return Wake.DOORBELL
    return reason


def _cleanup(context: df.DurableOrchestrationContext, run: RunInput) -> Orchestration[Any]:
    request = CleanupRequest(deployment_id=run.deployment_id, traceparent=run.traceparent)
    while True:
        progress = yield from _activity(
            context, ActivityName.CLEANUP, request, CleanupProgress, STEP_RETRY
        )
        _publish(context, progress.view)
        if progress.done:
            return {**_outcome(progress.view), "report": progress.report.model_dump(mode="json")}
        request = request.model_copy(
            update={"continuation": progress.continuation, "report": progress.report}
        )


def _wake(run: RunInput, waits: int) -> str:
    """The doorbell name of the next wait: unique to it, so a late or early ring is harmless."""
    return f"wake-{run.run_id}-{run.generation}-{waits}"


def _reconcile(
    context: df.DurableOrchestrationContext, run: RunInput, waits: int
) -> Orchestration[DeploymentView]:
    request = ReconcileRequest(
        deployment_id=run.deployment_id, wake_event=_wake(run, waits), traceparent=run.traceparent
    )
    return (yield from _activity(context, ActivityName.RECONCILE, request, DeploymentView))


def _finish(
    context: df.DurableOrchestrationContext, run: RunInput, outcome: str, error: str | None = None
) -> Orchestration[DeploymentView]:
    request = FinishRequest(
        deployment_id=run.deployment_id, outcome=outcome, error=error, traceparent=run.traceparent
    )
    return (yield from _activity(context, ActivityName.FINISH, request, DeploymentView))


def _activity(
    context: df.DurableOrchestrationContext,
    name: str,
    request: Contract,
    result_type: type[C],
    retry: df.RetryOptions = STATE_RETRY,
) -> Orchestration[C]:
    result = yield context.call_activity_with_retry(name, retry, request.to_payload())
    return result_type.model_validate(result)


def _expired(context: df.DurableOrchestrationContext, deadline: datetime | None) -> bool:
    return deadline is not None and context.current_utc_datetime >= deadline


def _publish(context: df.DurableOrchestrationContext, view: DeploymentView) -> None:
    context.set_custom_status(
        {
            "status": view.status,
            "desired": view.desired_status,
            "phase": view.phase,
            "step": view.step,
            "awaiting": view.approval_key,
        }
    )


def _outcome(view: DeploymentView) -> dict[str, Any]:
    return {
        "status": view.status.value,
        "phase": view.phase,
        "steps": view.step,
        "error": view.error,
    }


def _next_generation(run: RunInput) -> dict[str, Any]:
    return run.model_copy(update={"generation": run.generation + 1}).to_payload()


def _failure_message(exc: Exception) -> str:
    """The first line of the activity's error (the SDK appends details after ' \\n ')."""
    text = str(exc).split(" \n ", 1)[0].strip() or type(exc).__name__
    return text[:1000]


__all__ = ["MAX_IDLE_WAIT", "ORCHESTRATOR", "STEPS_PER_GENERATION", "STEP_RETRY", "run"]
