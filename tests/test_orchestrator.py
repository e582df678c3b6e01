"""The real deployment orchestrator, driven event by event through the SDK's replay protocol,
with the real activities writing to Azurite."""

import re
from collections import Counter
from datetime import timedelta

import pytest

from devhost.invoke import ActivityOutcome
from haymaker.contracts import ORCHESTRATOR, ActivityName, RunInput
from haymaker.lifecycle import Lifecycle
from haymaker.models import DeploymentConfig, DeploymentStatus
from haymaker.store import Stores
from haymaker.transitions import Command
from orchestrators.deployment_run import MAX_IDLE_WAIT, STEPS_PER_GENERATION
from tests.support.durable import InlineOrchestration

S = DeploymentStatus
FAST = {"item_delay_ms": 0}


@pytest.fixture
def lifecycle(stores: Stores, registry, app_env) -> Lifecycle:
    return Lifecycle(stores, registry)


async def deploy(lifecycle: Lifecycle, function_app, workload="data-collector", **fields):
    config = DeploymentConfig.model_validate({"workload": workload, **fields})
    record = await lifecycle.create(config)
    run = RunInput(deployment_id=record.deployment_id, run_id="r1")
    orchestration = InlineOrchestration(
        function_app, ORCHESTRATOR, record.deployment_id, run.to_payload()
    )
    return record.deployment_id, orchestration


async def messages(stores: Stores, deployment_id: str) -> list[str]:
    record = await stores.deployments.get(deployment_id)
    entries = await stores.logs.read(deployment_id, total=record.progress.log_count)
    assert [e.line for e in entries] == list(range(record.progress.log_count))
    return [e.message for e in entries]


def collected_items(lines: list[str]) -> Counter[str]:
    return Counter(m.split(": ")[1] for m in lines if m.startswith("Collected item"))


async def test_happy_path_to_completed(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 25, **FAST})
    await orch.run_to_completion()
    assert orch.done
    assert orch.error is None
    assert orch.output["status"] == "completed"
    record = await stores.deployments.get(dep)
    state = record.state
    assert state.status == S.COMPLETED
    assert state.phase == "completed"
    assert state.metadata["items_collected"] == 25
    assert state.metadata["goal_achieved"] is True
    assert state.started_at <= state.completed_at
    assert record.progress.step == 5  # initialize, 3 batches of <= 10, report
    assert orch.activity_names() == [ActivityName.RECONCILE] + [ActivityName.RUN_STEP] * 5
    items = collected_items(await messages(stores, dep))
    assert sorted(items) == [f"item-{i:04d}" for i in range(25)]
    assert set(items.values()) == {1}
    assert await stores.resources.count(dep) == 25
    assert orch.custom_status == {
        "status": "completed",
        "desired": "running",
        "phase": "completed",
        "step": 5,
        "awaiting": None,
    }


async def test_stop_then_start_resumes_from_the_cursor(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 50, **FAST})
    await orch.run_activities(limit=4)  # reconcile, initialize, two batches
    assert orch.custom_status["step"] == 3
    await lifecycle.command(dep, Command.STOP)
    await orch.run_activities()
    stopped = await stores.deployments.get(dep)
    assert stopped.state.status == S.STOPPED
    assert stopped.state.stopped_at is not None
    # the batch scheduled before the stop was seen was refused, not run
    assert stopped.state.metadata["items_collected"] == 20
    assert orch.pending == []
    assert not orch.done
    assert orch.waiting_for[-1] == stopped.progress.wake_event
    assert orch.custom_status["status"] == "stopped"

    outcome = await lifecycle.command(dep, Command.START)
    assert outcome.accepted
    orch.raise_event(stopped.progress.wake_event)
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.metadata["items_collected"] == 50
    lines = await messages(stores, dep)
    items = collected_items(lines)
    assert len(items) == 50
    assert set(items.values()) == {1}, "an item was collected twice"
    assert any(m.startswith("Stopped after 3 steps") for m in lines)
    assert any(m.startswith("Resumed at step 3") for m in lines)
    step_inputs = [p["step"] for name, p in orch.calls if name == ActivityName.RUN_STEP]
    assert step_inputs == [0, 1, 2, 3, 3, 4, 5, 6]  # step 3 was refused once, then run once


async def stop_and_park(lifecycle, stores, orch, dep):
    await lifecycle.command(dep, Command.STOP)
    await orch.run_activities()
    record = await stores.deployments.get(dep)
    assert record.state.status == S.STOPPED
    return record.progress.wake_event


async def test_doorbell_rung_twice(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 30, **FAST})
    await orch.run_activities(limit=3)
    wake = await stop_and_park(lifecycle, stores, orch, dep)
    await lifecycle.command(dep, Command.START)
    orch.raise_event(wake)
    orch.raise_event(wake)
    await orch.run_to_completion()
    assert (await stores.deployments.get(dep)).state.status == S.COMPLETED


async def test_doorbell_rung_late_is_ignored(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 60, **FAST})
    await orch.run_activities(limit=3)
    first = await stop_and_park(lifecycle, stores, orch, dep)
    await lifecycle.command(dep, Command.START)
    orch.raise_event(first)
    await orch.run_activities(limit=2)
    orch.raise_event(first)  # long after it mattered
    second = await stop_and_park(lifecycle, stores, orch, dep)
    assert second != first
    orch.raise_event(first)  # a stale bell must not wake the new wait
    assert orch.pending == []
    assert (await stores.deployments.get(dep)).state.status == S.STOPPED
    await lifecycle.command(dep, Command.START)
    orch.raise_event(second)
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.metadata["items_collected"] == 60


async def test_doorbell_rung_early_changes_nothing(lifecycle, stores, function_app):
    """A bell for a wait that has not begun is buffered; the wake-up re-reads the table, sees
    the deployment is still meant to be stopped, and waits again."""
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 30, **FAST})
    await orch.run_activities(limit=2)
    orch.raise_event("wake-r1-0-0")  # the name the coming stop will wait on
    wake = await stop_and_park(lifecycle, stores, orch, dep)
    assert wake == "wake-r1-0-1"
    assert orch.pending == []
    assert (await stores.deployments.get(dep)).state.status == S.STOPPED
    await lifecycle.command(dep, Command.START)
    orch.raise_event(wake)
    await orch.run_to_completion()
    assert (await stores.deployments.get(dep)).state.status == S.COMPLETED


async def test_doorbell_in_the_same_batch_as_the_park(lifecycle, stores, function_app):
    """Start is written and rung while the parking activity's result is still in flight."""
    from devhost.invoke import invoke_activity
    from devhost.replay import event_raised, task_completed

    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 30, **FAST})
    await orch.run_activities(limit=2)
    await lifecycle.command(dep, Command.STOP)
    await orch.run_activity()  # the step that sees the stop
    park = orch.pending.pop(0)
    assert park.name == ActivityName.RECONCILE
    outcome = await invoke_activity(function_app.activities[park.name], park.input)
    await lifecycle.command(dep, Command.START)
    wake = (await stores.deployments.get(dep)).progress.wake_event
    orch.deliver(
        task_completed(park.task_id, outcome.result, orch.now), event_raised(wake, "null", orch.now)
    )
    await orch.run_to_completion()
    assert (await stores.deployments.get(dep)).state.status == S.COMPLETED


async def test_doorbell_never_rung_the_timer_rereads_the_table(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 30, **FAST})
    await orch.run_activities(limit=2)
    await stop_and_park(lifecycle, stores, orch, dep)
    await lifecycle.command(dep, Command.START)  # written, never rung
    (timer,) = orch.timers.values()
    assert timer.fire_at - orch.now <= MAX_IDLE_WAIT
    generations = orch.generations
    await orch.run_to_completion()
    assert orch.generations == generations + 1  # the idle timer renewed the history
    assert (await stores.deployments.get(dep)).state.status == S.COMPLETED


async def test_cleanup_while_running(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 40, **FAST})
    await orch.run_activities(limit=3)
    await lifecycle.command(dep, Command.CLEANUP)
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.phase == "cleaned_up"
    report = orch.output["report"]
    assert report["resources_deleted"] == final.state.metadata["items_collected"] == 10
    assert report["resources_failed"] == 0
    assert await stores.resources.count(dep) == 0
    assert "Cleanup started" in await messages(stores, dep)


async def test_cleanup_while_stopped(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 40, **FAST})
    await orch.run_activities(limit=4)
    wake = await stop_and_park(lifecycle, stores, orch, dep)
    await lifecycle.command(dep, Command.CLEANUP)
    orch.raise_event(wake)
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert orch.output["report"]["resources_deleted"] == 20
    assert await stores.resources.count(dep) == 0


async def test_cleanup_of_a_completed_deployment_runs_a_new_orchestration(
    lifecycle, stores, function_app
):
    dep, orch = await deploy(lifecycle, function_app, config={"item_count": 5, **FAST})
    await orch.run_to_completion()
    assert (await lifecycle.command(dep, Command.CLEANUP)).accepted
    again = InlineOrchestration(
        function_app, ORCHESTRATOR, dep, RunInput(deployment_id=dep, run_id="r2").to_payload()
    )
    await again.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.phase == "cleaned_up"
    assert again.output["report"]["resources_deleted"] == 5


async def test_cleanup_that_cannot_delete_everything_fails_and_can_be_retried(
    lifecycle, stores, function_app
):
    dep, orch = await deploy(
        lifecycle, function_app, "flaky-collector", config={"steps": 3, "undeletable": 1}
    )
    await orch.run_to_completion()
    await lifecycle.command(dep, Command.CLEANUP)
    cleanup = InlineOrchestration(
        function_app, ORCHESTRATOR, dep, RunInput(deployment_id=dep, run_id="r2").to_payload()
    )
    await cleanup.run_to_completion()
    failed = await stores.deployments.get(dep)
    assert failed.state.status == S.FAILED
    assert failed.state.error == "1 resources could not be deleted"
    assert cleanup.output["report"]["resources_deleted"] == 2
    assert "thing-0 is locked" in cleanup.output["report"]["errors"][0]
    assert await stores.resources.count(dep) == 1
    assert (await lifecycle.command(dep, Command.CLEANUP)).accepted  # failed -> cleaning_up


async def test_transient_failures_are_retried(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, "flaky-collector", config={"fail_times": 2})
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    steps = [p["step"] for name, p in orch.calls if name == ActivityName.RUN_STEP]
    assert steps == [0, 0, 0, 1, 1, 1]  # two failures then success, for each step


async def test_activity_failure_after_retries_fails_the_deployment(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, "flaky-collector", config={"fail_times": 99})
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.FAILED
    assert final.state.error == "RuntimeError: sensor offline at step 0"
    assert orch.output["status"] == "failed"
    assert orch.error is None  # the orchestration itself ended cleanly
    steps = [p["step"] for name, p in orch.calls if name == ActivityName.RUN_STEP]
    assert steps == [0, 0, 0]
    assert "Deployment failed: RuntimeError: sensor offline at step 0" in await messages(
        stores, dep
    )


async def test_workload_errors_fail_at_once(lifecycle, stores, function_app):
    dep, orch = await deploy(lifecycle, function_app, "flaky-collector", config={"fatal": True})
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.FAILED
    assert final.state.error == "the collector refused the request"
    assert orch.activity_names().count(ActivityName.RUN_STEP) == 1


async def test_storage_failure_in_every_attempt_surfaces_as_a_failed_orchestration(
    lifecycle, stores, function_app
):
    """If even recording the failure fails, the orchestration fails with the error."""
    _dep, orch = await deploy(lifecycle, function_app, config={"item_count": 5, **FAST})

    async def table_down(call):
        return ActivityOutcome(reason="ServiceRequestError: connection refused", details="trace")

    orch.hook = table_down
    await orch.run_to_completion()
    assert orch.done
    assert "connection refused" in orch.error


async def test_duration_deadline_ends_a_running_deployment(lifecycle, stores, function_app):
    dep, orch = await deploy(
        lifecycle,
        function_app,
        config={"item_count": 100, "batch_size": 5, **FAST},
        duration_hours=1,
    )
    await orch.run_activities(limit=3)
    orch.advance(timedelta(hours=2))
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.phase == "expired"
    assert final.state.metadata["deadline_reached"] is True
    assert final.state.metadata["items_collected"] < 100


async def test_duration_deadline_ends_a_stopped_deployment(lifecycle, stores, function_app):
    dep, orch = await deploy(
        lifecycle, function_app, config={"item_count": 100, **FAST}, duration_hours=2
    )
    await orch.run_activities(limit=2)
    await stop_and_park(lifecycle, stores, orch, dep)
    (timer,) = orch.timers.values()
    record = await stores.deployments.get(dep)
    assert timer.fire_at == record.state.deadline.replace(microsecond=timer.fire_at.microsecond)
    await orch.run_to_completion()
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.phase == "expired"


@pytest.mark.parametrize("batch_size", [10, 1])
async def test_item_count_1000_keeps_every_history_bounded(
    lifecycle, stores, function_app, batch_size
):
    dep, orch = await deploy(
        lifecycle, function_app, config={"item_count": 1000, "batch_size": batch_size, **FAST}
    )
    await orch.run_to_completion(max_rounds=5000)
    final = await stores.deployments.get(dep)
    assert final.state.metadata["items_collected"] == 1000
    steps = 1000 // batch_size + 2
    assert orch.generations == -(-steps // STEPS_PER_GENERATION)
    assert max(orch.history_sizes) <= 5 * STEPS_PER_GENERATION
    print(
        f"batch_size={batch_size}: {orch.generations} generations, largest history "
        f"{max(orch.history_sizes)} events"
    )


async def test_a_pause_between_steps_waits_on_a_timer_and_still_hears_commands(
    lifecycle, stores, function_app
):
    dep, orch = await deploy(
        lifecycle, function_app, "flaky-collector", config={"steps": 5, "pause_seconds": 3600}
    )
    await orch.run_activities()  # reconcile and the first step, which asks for an hour's pause
    assert orch.pending == []
    (timer,) = orch.timers.values()
    record = await stores.deployments.get(dep)
    assert record.progress.resume_at is not None
    assert timer.fire_at == record.progress.resume_at
    assert record.progress.wake_event in orch.waiting_for
    await lifecycle.command(dep, Command.STOP)
    orch.raise_event(record.progress.wake_event)
    await orch.run_activities()
    stopped = await stores.deployments.get(dep)
    assert stopped.state.status == S.STOPPED
    assert stopped.state.metadata["done"] == 1
    await lifecycle.command(dep, Command.START)
    orch.raise_event(stopped.progress.wake_event)
    await orch.run_to_completion()  # fires the pauses' timers as they come due
    final = await stores.deployments.get(dep)
    assert final.state.status == S.COMPLETED
    assert final.state.metadata["done"] == 5
    steps = [p["step"] for name, p in orch.calls if name == ActivityName.RUN_STEP]
    assert steps == [0, 1, 2, 3, 4]


def test_orchestrator_module_is_deterministic_source():
    """No clock, randomness, environment or I/O in orchestrator code."""
    from pathlib import Path

    source = (Path(__file__).parents[1] / "orchestrators" / "deployment.py").read_text()
    for forbidden in (
        r"datetime\.now",
        r"utcnow",
        r"\brandom\b",
        r"os\.environ",
        r"\btime\.",
        r"open\(",
        r"uuid",
    ):
        assert not re.search(forbidden, source), forbidden
