"""haymaker_testing, the authors' test kit: the in-process runner, the LLM stub, and the durable
harness driving the real orchestrator and activities against Azurite."""

import json
import os
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from haymaker.contracts import ActivityName
from haymaker.errors import ConfigError, InvalidKeyError
from haymaker.llm import LLMMessage, LLMRateLimited, LLMRequestError
from haymaker.models import DeploymentStatus
from haymaker.workloads.base import WorkloadError
from haymaker.workloads.data_collector import DataCollectorWorkload
from haymaker_testing import DurableHarness, LLMStub, StepRunner, run_workload
from tests.support.flaky import FlakyWorkload
from tests.support.tickets import TicketCounter

pytest_plugins = ["pytester"]

S = DeploymentStatus
FAST = {"item_delay_ms": 0}
LLM_CONFIG = {"item_count": 30, "enable_llm": True, "failure_rate": 0.3, **FAST}


def recovering_model(messages: list[LLMMessage]) -> str:
    """Recovers even-numbered items, skips odd ones, and says yes to the evaluation."""
    prompt = messages[-1].content
    if prompt.startswith("Error collecting item"):
        index = int(prompt.split()[3].rstrip(":"))
        return json.dumps({"data": f"recovered-{index}"}) if index % 2 == 0 else "SKIP"
    return "Yes: enough items were collected."


def collected(lines: list[str]) -> Counter[str]:
    return Counter(line.split(": ")[1] for line in lines if line.startswith("Collected item"))


# -- in-process ------------------------------------------------------------------------------


async def test_a_run_merges_metadata_and_keeps_resources_by_name():
    result = await run_workload(
        DataCollectorWorkload, {"item_count": 25, **FAST}, check_idempotent=True
    )
    assert result.status == "completed", result.error
    assert result.error is None
    assert result.exception is None
    assert result.metadata["items_collected"] == 25
    assert result.metadata["goal_achieved"] is True
    assert result.metadata["workload_version"] == "0.1.0"
    assert [step.phase for step in result.steps] == ["initialize"] + ["collecting"] * 3 + ["report"]
    assert sorted(r.name for r in result.resources) == [f"item-{i:04d}" for i in range(25)]
    assert result.logs[0] == "Goal: Collect 25 data items"  # follows item_count
    assert result.log_entries[0] == ("info", "Goal: Collect 25 data items")
    assert "Goal achieved: True" in result.logs


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"item_count": 0}, "item_count: Input should be greater than or equal to 1"),
        ({"item_count": 5, "colour": "red"}, "colour: unknown key"),
        ({"enable_llm": "perhaps"}, "enable_llm"),
    ],
)
async def test_the_manifest_schema_checks_the_config(config, message):
    with pytest.raises(ConfigError, match=message):
        await run_workload(DataCollectorWorkload, config)


def test_check_config_runs_after_the_schema():
    with pytest.raises(ConfigError, match="steps has no meaning for an endless counter"):
        StepRunner(TicketCounter, {"endless": True, "steps": 7})
    # the schema's coercion comes first: the string is an integer by the time it is checked
    assert StepRunner(TicketCounter, {"steps": "4"}).config["steps"] == 4


async def test_step_by_step():
    runner = StepRunner(TicketCounter, {"steps": 2}, deployment_id="tickets-1")
    assert (runner.phase, runner.cursor, runner.done) == ("counting", {}, False)
    first = await runner.step()
    assert (first.index, first.phase, first.logs) == (0, "counting", ["ticket 0"])
    assert [r.key for r in first.resources] == ["ticket:ticket-0"]
    assert runner.cursor == {"n": 1, "last": 0}
    assert runner.metadata["tickets"] == 1
    rest = await runner.run_phase()
    assert len(rest) == 1
    assert (runner.phase, runner.cursor) == ("closing", {})  # a new phase starts from {}
    result = await runner.run()
    assert runner.done
    assert result.status == "completed"
    assert result.phase == "completed"
    assert result.metadata == {"workload_version": "0.0.1", "tickets": 2, "closed": True}
    with pytest.raises(RuntimeError, match="no step to run"):
        await runner.step()


async def test_check_idempotent_catches_state_kept_in_memory():
    with pytest.raises(AssertionError) as caught:
        await run_workload(TicketCounter, {"leaky": True}, check_idempotent=True)
    message = str(caught.value)
    assert "step 0 (phase counting) is not idempotent" in message
    assert "cursor['last']" in message
    assert "only on the first run" in message
    assert "only on the re-run" in message
    # the same workload without the leak passes the check
    result = await run_workload(TicketCounter, {"leaky": False}, check_idempotent=True)
    assert result.status == "completed"


async def test_a_leak_goes_unnoticed_without_the_check():
    result = await run_workload(TicketCounter, {"leaky": True})
    assert result.status == "completed"


async def test_max_steps_stops_an_endless_workload():
    with pytest.raises(AssertionError, match="ticket-counter did not finish in 7 steps"):
        await run_workload(TicketCounter, {"endless": True}, max_steps=7)


async def test_a_workload_error_fails_the_run_with_its_message():
    result = await run_workload(FlakyWorkload, {"fatal": True}, deployment_id="flaky-fatal-1")
    assert result.status == "failed"
    assert result.error == "the collector refused the request"
    assert isinstance(result.exception, WorkloadError)
    assert result.steps == []
    assert result.log_entries == [("warning", "asking the collector")]  # kept, as deployed


async def test_other_errors_are_retried_as_the_orchestrator_does():
    ok = await run_workload(FlakyWorkload, {"fail_times": 2}, deployment_id="flaky-retry-1")
    assert ok.status == "completed"
    assert [step.attempts for step in ok.steps] == [3, 3]
    failed = await run_workload(FlakyWorkload, {"fail_times": 3}, deployment_id="flaky-retry-2")
    assert failed.status == "failed"
    assert failed.error == "RuntimeError: sensor offline at step 0"
    assert isinstance(failed.exception, RuntimeError)


async def test_step_raises_the_error_that_fails_the_run():
    runner = StepRunner(FlakyWorkload, {"fatal": True}, deployment_id="flaky-fatal-2")
    with pytest.raises(WorkloadError, match="refused"):
        await runner.step()
    assert runner.status == "failed"
    assert runner.error == "the collector refused the request"


async def test_cleanup_reports_what_could_not_be_deleted():
    result = await run_workload(FlakyWorkload, {"steps": 3, "undeletable": 1})
    assert len(result.resources) == 3
    report = await result.cleanup()
    assert report.resources_deleted == 2
    assert report.resources_failed == 1
    assert report.errors == ["thing:thing-0: thing-0 is locked"]
    assert [r.name for r in result.resources] == ["thing-0"]


async def test_a_pause_moves_the_virtual_clock():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    result = await run_workload(FlakyWorkload, {"steps": 3, "pause_seconds": 3600}, now=start)
    resume = [step.result.resume_at for step in result.steps]
    assert resume == [start + timedelta(hours=1), start + timedelta(hours=2), None]


async def test_the_llm_stub_recovers_failed_items_in_process():
    stub = LLMStub(recovering_model)
    result = await run_workload(
        DataCollectorWorkload,
        LLM_CONFIG,
        deployment_id="data-collector-llm01",
        llm=stub,
        check_idempotent=True,  # the re-runs get the recorded answers: no extra requests
    )
    metadata = result.metadata
    assert result.status == "completed", result.error
    assert metadata["items_recovered"] > 0
    assert metadata["items_failed"] > 0
    assert metadata["items_collected"] == 30 - metadata["items_failed"]
    assert metadata["llm_evaluation"] == "Yes: enough items were collected."
    recoveries = [p for p in stub.prompts if p.startswith("Error collecting item")]
    assert len(recoveries) == metadata["items_failed"] + metadata["items_recovered"]
    assert len(stub.requests) == len(recoveries) + 1
    assert metadata["llm_usage"] == {
        "calls": len(stub.requests),
        "input_tokens": 10 * len(stub.requests),
        "output_tokens": 5 * len(stub.requests),
    }
    assert stub.requests[0].system is not None
    assert (
        sum(line.startswith("Recovered item") for line in result.logs)
        == (metadata["items_recovered"])
    )


async def test_the_llm_stub_answers_in_order_and_refuses_when_out_of_replies():
    stub = LLMStub(["first", LLMRateLimited("slow down")])
    messages = [LLMMessage(role="user", content="hello")]
    assert (await stub.complete(messages)).content == "first"
    with pytest.raises(LLMRateLimited):
        await stub.complete(messages, max_tokens=5)
    with pytest.raises(LLMRequestError, match="no reply left for request 3: 'hello'"):
        await stub.complete(messages)
    assert [r.max_tokens for r in stub.requests] == [None, 5, None]


async def test_a_step_without_a_model_fails_clearly():
    result = await run_workload(DataCollectorWorkload, LLM_CONFIG, deployment_id="dc-nollm")
    assert result.status == "failed"
    assert result.error == "no LLM client is available to this step"


def test_deployment_ids_are_the_platforms():
    with pytest.raises(InvalidKeyError, match="deployment id must be 3-63 characters"):
        StepRunner(TicketCounter, deployment_id="T")


# -- durable ---------------------------------------------------------------------------------


@pytest.fixture
async def harness(storage_connection):
    async with DurableHarness(workloads=[FlakyWorkload], storage=storage_connection) as harness:
        yield harness


async def test_stop_then_start_resumes_from_the_cursor(harness):
    run = await harness.deploy("data-collector", {"item_count": 50, **FAST})
    await run.steps(4)  # reconcile, initialize, two batches
    await run.stop()
    await run.run_to_completion()  # the batch already scheduled is refused; then it parks
    stopped = await run.state()
    assert stopped.status == S.STOPPED
    assert stopped.metadata["items_collected"] == 20
    assert not run.done
    await run.start()  # rings the doorbell the stopped run waits on
    await run.run_to_completion()
    final = await run.state()
    assert final.status == S.COMPLETED
    assert final.metadata["items_collected"] == 50
    items = collected(await run.logs())
    assert len(items) == 50
    assert set(items.values()) == {1}, "an item was collected twice"
    assert len(await run.resources()) == 50
    steps = [p["step"] for name, p in run.activity_calls() if name == ActivityName.RUN_STEP]
    assert steps == [0, 1, 2, 3, 3, 4, 5, 6]  # step 3 was refused once, then run once


async def test_cleanup_while_running(harness):
    run = await harness.deploy("data-collector", {"item_count": 40, **FAST})
    await run.steps(3)
    await run.cleanup()
    await run.run_to_completion()
    final = await run.state()
    assert (final.status, final.phase) == (S.COMPLETED, "cleaned_up")
    assert run.output["report"]["resources_deleted"] == final.metadata["items_collected"] == 10
    assert await run.resources() == []
    assert "Cleanup started" in await run.logs()


async def test_cleanup_while_stopped(harness):
    run = await harness.deploy("data-collector", {"item_count": 40, **FAST})
    await run.steps(4)
    await run.stop()
    await run.run_to_completion()
    await run.cleanup()
    await run.run_to_completion()
    final = await run.state()
    assert (final.status, final.phase) == (S.COMPLETED, "cleaned_up")
    assert run.output["report"]["resources_deleted"] == 20
    assert await run.resources() == []


async def test_a_stopped_run_waits_until_its_deadline_is_reached(harness):
    run = await harness.deploy("data-collector", {"item_count": 50, **FAST}, duration_hours=2)
    await run.steps(3)
    await run.stop()
    await run.run_to_completion()
    assert (await run.state()).status == S.STOPPED
    run.advance(timedelta(hours=1))
    await run.run_to_completion()
    assert (await run.state()).status == S.STOPPED
    run.advance(timedelta(hours=1))
    await run.run_to_completion()
    final = await run.state()
    assert (final.status, final.phase) == (S.COMPLETED, "expired")
    assert final.metadata["deadline_reached"] is True


async def test_cleanup_after_the_end_starts_a_new_run(harness):
    run = await harness.deploy("data-collector", {"item_count": 5, **FAST})
    await run.run_to_completion()
    assert run.done
    await run.cleanup()
    await run.run_to_completion()
    assert len(run.orchestrations) == 2
    assert run.output["report"]["resources_deleted"] == 5
    assert (await run.state()).phase == "cleaned_up"


async def test_injected_step_failures_are_retried(harness):
    run = await harness.deploy("data-collector", {"item_count": 20, **FAST})
    with pytest.raises(ValueError, match="no activity 'step'"):
        run.fail_activity("step")
    run.fail_activity("run_step", times=2, error="the source timed out")
    await run.run_to_completion()  # the retries wait on timers, fired in virtual time
    assert (await run.state()).status == S.COMPLETED
    steps = [p["step"] for name, p in run.activity_calls() if name == ActivityName.RUN_STEP]
    assert steps == [0, 0, 0, 1, 2, 3]


async def test_failures_past_the_retries_fail_the_deployment(harness):
    run = await harness.deploy("data-collector", {"item_count": 20, **FAST})
    run.fail_activity("run_step", times=3, error="the source is gone")
    await run.run_to_completion()
    final = await run.state()
    assert final.status == S.FAILED
    assert final.error == "the source is gone"
    assert run.activity_names()[-1] == ActivityName.FINISH
    assert "Deployment failed: the source is gone" in await run.logs()


async def test_a_workload_error_fails_the_deployment_at_once(harness):
    run = await harness.deploy(FlakyWorkload, {"fatal": True})
    await run.run_to_completion()
    final = await run.state()
    assert final.status == S.FAILED
    assert final.error == "the collector refused the request"
    assert run.activity_names().count(ActivityName.RUN_STEP) == 1
    logs = await run.logs()
    assert logs[-2:] == [
        "asking the collector",
        "Deployment failed: the collector refused the request",
    ]


async def test_the_llm_stub_recovers_failed_items_durably_as_in_process(storage_connection):
    durable_stub, local_stub = LLMStub(recovering_model), LLMStub(recovering_model)
    async with DurableHarness(llm=durable_stub, storage=storage_connection) as harness:
        run = await harness.deploy(
            "data-collector", LLM_CONFIG, deployment_id="data-collector-llm02"
        )
        await run.run_to_completion()
        state = await run.state()
    local = await run_workload(
        DataCollectorWorkload, LLM_CONFIG, deployment_id="data-collector-llm02", llm=local_stub
    )
    assert state.status == S.COMPLETED
    assert state.metadata["items_recovered"] > 0
    assert state.metadata == local.metadata  # the runner records steps as the platform does
    assert durable_stub.prompts == local_stub.prompts


async def test_a_run_can_have_its_own_model(storage_connection):
    async with DurableHarness(storage=storage_connection) as harness:
        run = await harness.deploy("data-collector", {**LLM_CONFIG, "failure_rate": 0})
        run.llm = LLMStub(["It was."])
        await run.run_to_completion()
        state = await run.state()
    assert state.metadata["llm_evaluation"] == "It was."
    assert run.llm.requests[0].prompt.startswith("Goal:")


async def test_the_harness_leaves_the_environment_and_its_tables_as_it_found_them(
    storage_connection, monkeypatch
):
    from azure.data.tables.aio import TableServiceClient

    monkeypatch.setenv("HAYMAKER_TABLE_PREFIX", "outside")
    async with DurableHarness(storage=storage_connection) as harness:
        prefix = harness.settings.table_prefix
        run = await harness.deploy("data-collector", {"item_count": 3, **FAST})
        await run.run_to_completion()
    assert os.environ["HAYMAKER_TABLE_PREFIX"] == "outside"
    async with TableServiceClient.from_connection_string(storage_connection) as service:
        names = [table.name async for table in service.list_tables()]
    assert not [name for name in names if name.startswith(prefix)]


# -- a user's project ------------------------------------------------------------------------

USER_WORKLOAD = """
from haymaker.workloads.base import StepContext, StepResult, Workload


class Greeter(Workload):
    async def run_step(self, ctx: StepContext) -> StepResult:
        done = int(ctx.cursor.get("n", 0)) + 1
        ctx.add_resource("greeting", f"hello-{done}")
        return StepResult(
            cursor={"n": done}, metadata={"greeted": done}, phase_complete=done >= ctx.config["times"]
        )
"""

USER_TESTS = """
import pytest

from greeter import Greeter
from haymaker_testing import run_workload


@pytest.mark.asyncio
async def test_in_process():
    result = await run_workload(Greeter, {"times": 3}, check_idempotent=True)
    assert result.metadata["greeted"] == 3


@pytest.mark.asyncio
async def test_durable(durable_harness):
    durable_harness.register(Greeter)
    run = await durable_harness.deploy("greeter", {"times": 2})
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed"
    assert len(await run.resources()) == 2
    await run.cleanup()
    await run.run_to_completion()
    assert await run.resources() == []
"""


def test_a_users_project_uses_the_plugin(pytester, storage_connection, monkeypatch):
    """A project of its own (no repository conftest, pytest-asyncio in strict mode) with the
    fixtures from haymaker_testing.pytest_plugin, run in a fresh process."""
    monkeypatch.setenv("HAYMAKER_TEST_STORAGE", storage_connection)
    package = pytester.mkpydir("greeter")
    (package / "__init__.py").write_text(textwrap.dedent(USER_WORKLOAD))
    (package / "workload.yaml").write_text(
        "name: greeter\nversion: '1.0'\nphases: [greeting]\n"
        "config_schema:\n  times: {type: integer, default: 1, min: 1}\n"
    )
    pytester.makeconftest('pytest_plugins = ["haymaker_testing.pytest_plugin"]')
    pytester.makepyfile(test_greeter=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_idempotence_check_ignores_only_what_is_named():
    from haymaker.workloads.base import StepResult
    from haymaker_testing.idempotence import differences

    def step(elapsed: int, status: int) -> tuple[StepResult, list]:
        failures = {"https://a/": {"status": status, "elapsed_ms": elapsed}}
        return StepResult(cursor={"i": 1}, metadata={"failures": failures, "slowest": elapsed}), []

    first, second = step(6, 500), step(16, 500)
    assert len(differences(first, second)) == 2
    ignore = ("metadata.failures.*.elapsed_ms", "metadata.slowest")
    assert differences(first, second, ignore) == []
    # what is not named still counts
    assert differences(first, step(16, 404), ignore) == [
        "metadata['failures']: {'https://a/': {'status': 500}} on the first run, "
        "{'https://a/': {'status': 404}} on the re-run"
    ]
