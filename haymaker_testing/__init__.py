"""Test kit for workload authors.

In-process, with no host and no storage::

    result = await run_workload(MyWorkload, {"item_count": 5}, llm=LLMStub(["SKIP"]),
                                check_idempotent=True)
    assert result.status == "completed", result.error

The real orchestrator and activities, against Table storage (Azurite)::

    async with DurableHarness(workloads=[MyWorkload]) as harness:
        run = await harness.deploy("my-agent", {"item_count": 5})
        await run.run_to_completion()
        assert (await run.state()).status == "completed"

pytest fixtures (`durable_harness`): `pytest_plugins = ["haymaker_testing.pytest_plugin"]`.

How this differs from a first reading of the spec, and why:

- In-process, a step runs the way an activity runs it: a fresh workload object per step,
  the platform's own `haymaker.execution.apply_step` merges the result, and the state goes
  through the deployments table's JSON (and size limits) between steps. Errors the platform
  retries (anything but WorkloadError and non-retryable LLMError) are retried as the
  orchestrator's STEP_RETRY does, so `result.error` reads as a deployment's would: the
  WorkloadError's message as is, otherwise "TypeName: message".
- `deployment_id` must be a valid deployment id (3-63 characters of a-z, 0-9, '-',
  starting with a letter), as the platform's are; it defaults to "<workload>-test".
- `result.metadata` is the deployment's: it includes `workload_version`; `result.usage` is
  its usage (LLM calls and tokens, steps). `result.logs` holds the workload's own lines, without the
  platform's ("Phase x started"); a durable run's `run.logs()` has both.
- A step that asks for an approval is answered at once by `decide` (a decision per key, or
  a function of the request); the next step sees it as `ctx.approval(key)`, and
  `result.approvals` lists what was asked and decided.
- `check_idempotent` replays the first run's model answers to the re-run (the same inputs),
  and also fails when the re-run asks the model something else. Instead of True it takes the
  paths a step measures rather than decides, which may differ on a re-run:
  `check_idempotent=["metadata.failures.*.elapsed_ms"]`.
- Activities in a durable run see the orchestration's clock as `ctx.now` (timers fire in
  virtual time; in Azure both are the wall clock).
- `StepRunner.step()` raises the error of a step that fails the run (after the status is set
  to failed); `run()` and `run_workload` return it as `result.exception` instead. Exceeding
  `max_steps` raises AssertionError.
- `DurableRun.steps(n)` runs exactly n activity calls of any kind (reconcile included) and
  raises AssertionError if fewer can run. `run_to_completion()` stops when the deployment is
  stopped (waiting for a command); move the clock with `run.advance()` to reach a deadline.
- Commands return the lifecycle's CommandOutcome. `run.output` is the orchestration's output
  (a cleanup's report under "report").
- AzureWebJobsStorage is used only when it names a local emulator; an account in Azure must
  be named in HAYMAKER_TEST_STORAGE.
"""

from haymaker_testing.durable import DurableHarness
from haymaker_testing.durable_run import DurableRun
from haymaker_testing.llm import LLMRequest, LLMStub, tool_call, tool_calls
from haymaker_testing.results import StepRecord, WorkloadRun
from haymaker_testing.runner import StepRunner, run_workload

__all__ = [
    "DurableHarness",
    "DurableRun",
    "LLMRequest",
    "LLMStub",
    "StepRecord",
    "StepRunner",
    "WorkloadRun",
    "run_workload",
    "tool_call",
    "tool_calls",
]
