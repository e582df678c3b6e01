"""Keeping the context bounded: once a model turn's input passes `context_tokens`, a step of
its own asks the model to summarise the older turns, and the summary stands in for them in
what is sent from then on (the transcript keeps every entry)."""

from __future__ import annotations

from haymaker.agents import prompts
from haymaker.agents.session import AgentSession
from haymaker.agents.transcript import TranscriptEntry, TurnUsage, conversation
from haymaker.llm import UserMessage
from haymaker.workloads.base import StepResult

FIRST_REPLACED = 1  # entry 0 is the goal: it is always sent as written


def needs_summary(session: AgentSession) -> bool:
    return session.cursor.last_input_tokens > session.config["context_tokens"]


async def summary_step(session: AgentSession) -> StepResult:
    cursor = session.cursor
    entries = await session.transcript.read(session.deployment_id)
    keep_from = _keep_from(entries)
    if keep_from is None or keep_from - 1 < FIRST_REPLACED:
        cursor.last_input_tokens = 0  # nothing older to fold: carry on as is
        return session.result()
    older = [entry for entry in entries if entry.index < keep_from]
    response = await session.ctx.llm(session.config.get("model")).complete(
        [*conversation(older), UserMessage(content=prompts.SUMMARY_REQUEST)],
        system=session.config.get("system_prompt") or prompts.DEFAULT_SYSTEM_PROMPT,
        max_tokens=session.config["max_tokens"],
    )
    await session.append(
        session.entry(
            "summary",
            content=response.content,
            replaces=(FIRST_REPLACED, keep_from - 1),
            usage=TurnUsage(
                input_tokens=response.usage.input_tokens,
                output_tokens=response.usage.output_tokens,
            ),
            model=response.model,
        )
    )
    cursor.summarised_upto = keep_from - 1
    cursor.last_input_tokens = 0
    session.ctx.log(
        f"Turn {cursor.turn}: entries {FIRST_REPLACED}-{keep_from - 1} summarised "
        f"({len(response.content)} characters)"
    )
    return session.result()


def _keep_from(entries: list[TranscriptEntry]) -> int | None:
    """Where the kept part begins: the latest assistant turn (its tool results follow it),
    so what is sent after the summary starts with the model's own turn."""
    for entry in reversed(entries):
        if entry.role == "assistant":
            return entry.index
    return None
