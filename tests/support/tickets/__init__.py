"""A small workload for the test kit's own tests: idempotent unless `leaky`, which numbers its
tickets from process memory, so a step re-run from the same inputs does something else."""

from itertools import count

from haymaker.errors import ConfigError
from haymaker.workloads.base import StepContext, StepResult, Workload

ISSUED = count()


class TicketCounter(Workload):
    external_resources = False

    @classmethod
    def check_config(cls, config: dict) -> None:
        if config["endless"] and config["steps"] != 3:
            raise ConfigError("steps has no meaning for an endless counter")

    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "closing":
            ctx.log(f"closed after {ctx.metadata['tickets']} tickets")
            return StepResult(metadata={"closed": True}, phase_complete=True)
        n = int(ctx.cursor.get("n", 0))
        ticket = next(ISSUED) if ctx.config["leaky"] else n
        ctx.add_resource("ticket", f"ticket-{ticket}")
        ctx.log(f"ticket {ticket}")
        done = n + 1 >= ctx.config["steps"] and not ctx.config["endless"]
        return StepResult(
            cursor={"n": n + 1, "last": ticket}, metadata={"tickets": n + 1}, phase_complete=done
        )
