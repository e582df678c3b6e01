"""goal-agent: an LLM pursuing a goal with tools.

act: one model turn per step, then one step per tool call it asked for, until the agent
calls `finish`, runs out of turns, refuses, or is stopped as stuck. evaluate: the model
judges the result against `success_criteria`. report: the outcome in the metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from haymaker.agents import prompts
from haymaker.agents.calls import tool_step
from haymaker.agents.session import AgentSession
from haymaker.agents.state import AgentCursor
from haymaker.agents.summary import needs_summary, summary_step
from haymaker.agents.turns import model_turn, stuck
from haymaker.clock import utc_now
from haymaker.errors import ConfigError
from haymaker.llm import UserMessage
from haymaker.models import Resource
from haymaker.workloads.base import (
    CleanupContext,
    StepContext,
    StepResult,
    Workload,
    WorkloadError,
)

DEFAULT_AGENT_NAME = "goal-agent"


class GoalAgentWorkload(Workload):
    # What tools create lives outside the platform (they say so by recording resources).
    external_resources = True

    @classmethod
    def needs_llm(cls, config: dict[str, Any]) -> bool:
        return True

    @classmethod
    def agent_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The goal-agent config this workload's config stands for. A specialised agent
        (a subclass with its own workload.yaml) maps its keys to goal-agent's here, e.g.
        a `question` to a `goal`; the result is checked against goal-agent's schema."""
        return config

    @classmethod
    def resolved_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        if cls is GoalAgentWorkload:
            return config
        return GoalAgentWorkload.manifest().validate_config(cls.agent_config(config))

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        from haymaker.tools import get_registry

        config = cls.resolved_config(config)
        from haymaker.integrations.factory import IntegrationConfig

        IntegrationConfig.of(config)  # the services it names, as far as config can tell
        offered = set(get_registry().names())
        unknown = [name for name in tool_names(config) if name not in offered]
        if unknown and not _remote_tools_configured(config):
            raise ConfigError(
                f"unknown tools: {', '.join(unknown)} (known: {', '.join(sorted(offered))})",
                errors=[{"key": "tools", "message": f"unknown: {', '.join(unknown)}"}],
            )

    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "act":
            return await self._act(ctx)
        if ctx.phase == "evaluate":
            return await self._evaluate(ctx)
        if ctx.phase == "report":
            return _report(ctx)
        raise WorkloadError(f"goal-agent has no phase {ctx.phase!r}")

    async def _act(self, ctx: StepContext) -> StepResult:
        config = self.resolved_config(ctx.config)
        session = await open_session(ctx, config)
        cursor = session.cursor
        if not cursor.started:
            goal = prompts.goal_message(
                config["goal"], config.get("success_criteria"), config["max_turns"]
            )
            await session.append(session.entry("user", content=goal))
            cursor.transcript_id = session.now.isoformat()  # when this life began
            ctx.log(f"Goal: {config['goal'][:500]}")
        if cursor.stop_reason is not None:
            return _end_of_act(session)
        if cursor.pending:
            return await tool_step(session)
        if cursor.stuck_key is not None:
            return stuck(session, cursor.stuck_why or "stuck", cursor.stuck_key)
        if cursor.turn >= config["max_turns"]:
            cursor.stop_reason = "max_turns"
            ctx.log(f"Turn limit reached ({cursor.turn} turns)", "warning")
            return _end_of_act(session)
        if needs_summary(session):
            return await summary_step(session)
        return await model_turn(session)

    async def _evaluate(self, ctx: StepContext) -> StepResult:
        config = self.resolved_config(ctx.config)
        metadata = ctx.metadata
        finished = metadata.get("stop_reason") == "finished"
        criteria = config.get("success_criteria")
        if not criteria:
            verdict = (
                "finished by the agent"
                if finished
                else f"not finished ({metadata.get('stop_reason')})"
            )
            ctx.log(f"Evaluation: {verdict}")
            return StepResult(
                metadata={"goal_achieved": finished, "evaluation": verdict}, phase_complete=True
            )
        result = metadata.get("summary") or "(the agent gave no result)"
        if metadata.get("result") is not None:
            result += f"\n\nStructured result: {metadata['result']}"
        response = await ctx.llm(config.get("model")).complete(
            [UserMessage(content=prompts.evaluation_request(config["goal"], criteria, result))],
            max_tokens=300,
        )
        verdict = response.content.strip()
        achieved = verdict.upper().startswith("YES")
        ctx.log(f"Evaluation: {verdict[:500]}")
        return StepResult(
            metadata={"goal_achieved": achieved, "evaluation": verdict[:2000]}, phase_complete=True
        )

    async def delete_resource(self, resource: Resource, ctx: CleanupContext) -> None:
        """What a tool created goes back to that tool's delete hook."""
        from haymaker.tools import ToolContext

        config = self.resolved_config(ctx.config)
        toolbox = await open_toolbox(
            ctx.deployment_id, config, stores=ctx.stores, settings=ctx.settings, clock=utc_now
        )
        tool_context = ToolContext.from_config(ctx.deployment_id, config)
        if not await toolbox.delete_resource(resource, tool_context):
            raise WorkloadError(f"no tool of this agent created {resource.key}")
        ctx.logs.extend(tool_context.logs)


def tool_names(config: dict[str, Any]) -> list[str]:
    """The agent's tools: those configured, and finish always."""
    from haymaker.tools import FINISH_TOOL

    names = list(dict.fromkeys(config.get("tools") or []))
    return names if FINISH_TOOL in names else [*names, FINISH_TOOL]


def _remote_tools_configured(config: dict[str, Any]) -> bool:
    """Tools that MCP servers or services offer are only known once they are listed."""
    return bool(config.get("mcp_servers") or config.get("services"))


async def open_toolbox(
    deployment_id: str,
    config: dict[str, Any],
    *,
    stores: Any,
    settings: Any,
    clock: Callable[[], datetime],
) -> Any:
    from haymaker.agents.sources import agent_sources
    from haymaker.tools import Toolbox

    sources = await agent_sources(
        deployment_id, config, stores=stores, settings=settings, clock=clock
    )
    return await Toolbox.open(sources, tool_names(config))


async def open_session(ctx: StepContext, config: dict[str, Any]) -> AgentSession:
    from haymaker.tools import ToolContext

    if ctx.stores is None:
        raise WorkloadError(
            "the goal agent keeps its transcript in the platform's tables: run it on the "
            "platform (haymaker_testing.DurableHarness in tests)"
        )
    toolbox = await open_toolbox(
        ctx.deployment_id, config, stores=ctx.stores, settings=ctx.settings, clock=lambda: ctx.now
    )
    tool_context = ToolContext.from_config(
        ctx.deployment_id,
        config,
        memory=ctx.stores.memory,
        agent_name=config.get("agent_name") or DEFAULT_AGENT_NAME,
    )
    return AgentSession(
        ctx=ctx,
        config=config,
        cursor=AgentCursor.model_validate(ctx.cursor),
        toolbox=toolbox,
        tool_context=tool_context,
        transcript=ctx.stores.transcripts,
        ledger=ctx.stores.toolcalls,
    )


def _end_of_act(session: AgentSession) -> StepResult:
    cursor = session.cursor
    finished = cursor.finished
    metadata: dict[str, Any] = {"stop_reason": cursor.stop_reason}
    if finished is not None:
        metadata.update(summary=finished.summary[:4000], result=finished.result)
    session.ctx.log(f"Act phase over: {cursor.stop_reason} after {cursor.turn} turns")
    return session.result(metadata=metadata, phase_complete=True)


def _report(ctx: StepContext) -> StepResult:
    metadata = ctx.metadata
    ctx.log(
        f"Goal achieved: {metadata.get('goal_achieved')} "
        f"({metadata.get('turns', 0)} turns, {metadata.get('tool_calls', 0)} tool calls)"
    )
    if metadata.get("summary"):
        ctx.log(f"Summary: {metadata['summary'][:1000]}")
    return StepResult(phase_complete=True)
