"""A workload whose run makes one model call (thinking) and one tool call (acting): the
smallest run with every kind of span a deployment has."""

from haymaker.llm import ToolCall, UserMessage
from haymaker.tools import Toolbox, ToolContext, ToolRegistry, tool
from haymaker.workloads.base import StepContext, StepResult, Workload


@tool
async def lookup(query: str) -> str:
    """Look something up."""
    return f"found {query}"


class TracedAgent(Workload):
    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "thinking":
            answer = await ctx.llm().complete([UserMessage(content="what next?")], max_tokens=64)
            return StepResult(metadata={"answer": answer.content}, phase_complete=True)
        box = await Toolbox.open([ToolRegistry([lookup])])
        outcome = await box.run(
            ToolCall(id="call-1", name="lookup", arguments={"query": "weather"}),
            ToolContext(deployment_id=ctx.deployment_id),
        )
        return StepResult(metadata={"tool": outcome.content}, phase_complete=True)
