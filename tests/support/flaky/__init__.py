"""A workload that fails on purpose, for tests of retries, failures and cleanup errors."""

from collections import Counter
from datetime import timedelta

from haymaker.models import Resource
from haymaker.workloads.base import CleanupContext, StepContext, StepResult, Workload, WorkloadError

ATTEMPTS: Counter[tuple[str, int]] = Counter()


class FlakyWorkload(Workload):
    async def run_step(self, ctx: StepContext) -> StepResult:
        index = int(ctx.cursor.get("index", 0))
        if ctx.config["fatal"]:
            ctx.log("asking the collector", "warning")
            raise WorkloadError("the collector refused the request")
        ATTEMPTS[(ctx.deployment_id, index)] += 1
        if ATTEMPTS[(ctx.deployment_id, index)] <= ctx.config["fail_times"]:
            raise RuntimeError(f"sensor offline at step {index}")
        ctx.add_resource("thing", f"thing-{index}", undeletable=index < ctx.config["undeletable"])
        ctx.log(f"step {index} done")
        done = index + 1 >= ctx.config["steps"]
        pause = ctx.config["pause_seconds"]
        resume_at = ctx.now + timedelta(seconds=pause) if pause and not done else None
        return StepResult(
            cursor={"index": index + 1},
            metadata={"done": index + 1},
            phase_complete=done,
            resume_at=resume_at,
        )

    async def delete_resource(self, resource: Resource, ctx: CleanupContext) -> None:
        if resource.data.get("undeletable"):
            raise PermissionError(f"{resource.name} is locked")
