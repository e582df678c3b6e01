"""A model turn: one step that sends the conversation to the model with the agent's tools
and records the answer (in the transcript) and the calls it asks for (in the ledger) before
any of them runs. A turn interrupted after the model answered reuses that answer when its
re-run finds it recorded whole, instead of asking (and paying for) another."""

from __future__ import annotations

import asyncio

from haymaker.agents import prompts
from haymaker.agents.context import turn_context
from haymaker.agents.session import AgentSession, approval_key
from haymaker.agents.state import PendingCall
from haymaker.agents.transcript import TranscriptEntry, TurnUsage, conversation, shown_calls
from haymaker.approvals import ApprovalRequest
from haymaker.budgets import Usage
from haymaker.llm import StopReason, ToolCall
from haymaker.store.toolcalls import MAX_ROW_CHARS, CallStatus, LedgerRow
from haymaker.workloads.base import StepResult

STUCK_OPTIONS = ["continue", "stop"]


async def model_turn(session: AgentSession) -> StepResult:
    cursor = session.cursor
    entries = await turn_context(session)
    recorded = await _recorded_answer(session, entries)
    entries = [entry for entry in entries if entry.index < cursor.next_index]
    if recorded is not None:
        entry, calls = recorded
        usage = entry.usage or TurnUsage()
        session.ctx.extra_usage = Usage(
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, llm_calls=1
        )
        refused = False
    else:
        response = await session.ctx.llm(session.config.get("model")).complete(
            conversation(entries),
            system=session.config.get("system_prompt") or prompts.DEFAULT_SYSTEM_PROMPT,
            max_tokens=session.config["max_tokens"],
            tools=session.toolbox.specs(),
        )
        calls = response.tool_calls
        entry = TranscriptEntry(
            index=cursor.next_index,
            turn=cursor.turn + 1,
            role="assistant",
            at=session.now,
            content=response.content or response.refusal or "",
            tool_calls=shown_calls(calls),
            usage=TurnUsage(
                input_tokens=response.usage.input_tokens,
                output_tokens=response.usage.output_tokens,
            ),
            model=response.model,
        )
        # Both at once: a re-run reuses the answer only if its calls are in the ledger too
        # (_recorded_answer), so whichever write lands alone is harmless.
        await asyncio.gather(
            session.ledger.request(session.deployment_id, _ledger_rows(session, entry, calls)),
            session.transcript.put(session.deployment_id, entry),
        )
        refused = response.stop_reason is StopReason.REFUSAL
    cursor.turn = entry.turn
    cursor.next_index = entry.index + 1
    cursor.last_input_tokens = entry.usage.input_tokens if entry.usage else 0
    if refused:
        cursor.stop_reason = "refusal"
        session.ctx.log(f"Turn {cursor.turn}: the model refused: {entry.content[:200]}", "warning")
        return session.result()
    if calls:
        cursor.pending = [
            PendingCall(id=call.id, name=call.name, entry=entry.index) for call in calls
        ]
        cursor.idle_turns = 0
        names = ", ".join(call.name for call in calls)
        session.ctx.log(f"Turn {cursor.turn}: {len(calls)} tool call(s): {names}")
        return session.result()
    cursor.idle_turns += 1
    session.ctx.log(f"Turn {cursor.turn}: no tool call")
    return await _after_idle_turn(session)


async def _recorded_answer(
    session: AgentSession, entries: list[TranscriptEntry]
) -> tuple[TranscriptEntry, list[ToolCall]] | None:
    """The answer an interrupted run of this turn recorded (among the entries just read),
    with its calls as sent."""
    cursor = session.cursor
    entry = next((e for e in entries if e.index == cursor.next_index), None)
    if entry is None or entry.role != "assistant" or entry.turn != cursor.turn + 1:
        return None
    calls: list[ToolCall] = []
    for shown in entry.tool_calls:
        row = await session.ledger.get(session.deployment_id, entry.turn, shown.id)
        if row is None:
            return None  # recorded before its calls were: ask the model again
        calls.append(
            ToolCall(
                id=row.call_id,
                name=row.tool,
                arguments=row.arguments,
                arguments_error=row.arguments_error,
            )
        )
    return entry, calls


def _ledger_rows(
    session: AgentSession, entry: TranscriptEntry, calls: list[ToolCall]
) -> list[LedgerRow]:
    rows = []
    for call in calls:
        row = LedgerRow(
            turn=entry.turn,
            call_id=call.id,
            tool=call.name,
            arguments=call.arguments,
            arguments_error=call.arguments_error,
            status=CallStatus.REQUESTED,
            requested_at=session.now,
        )
        if len(row.model_dump_json()) > MAX_ROW_CHARS:
            row = row.model_copy(
                update={
                    "arguments": {},
                    "arguments_error": "the arguments are too large to record; send less",
                }
            )
        rows.append(row)
    return rows


async def _after_idle_turn(session: AgentSession) -> StepResult:
    """A turn without a tool call: fine now and then; `stuck_after` in a row is told to the
    model once, and then asks a person whether the agent may go on."""
    cursor, limit = session.cursor, session.config["stuck_after"]
    if cursor.idle_turns < limit:
        return session.result()
    if not cursor.nudged:
        cursor.nudged = True
        cursor.idle_turns = 0
        await session.append(session.entry("user", content=prompts.idle_nudge(limit)))
        session.ctx.log(f"Turn {cursor.turn}: {limit} turns without a tool call; told the model")
        return session.result()
    why = f"{limit} turns in a row without a tool call"
    return stuck(session, why, approval_key("stuck", cursor.turn))


def stuck(session: AgentSession, why: str, key: str) -> StepResult:
    """Ask whether a stuck agent may go on; the step that runs next takes the decision
    (the cursor remembers what it asked)."""
    cursor = session.cursor
    decision = session.ctx.approval(key)
    if decision is None:
        cursor.stuck_key, cursor.stuck_why = key, why
        return session.ask(
            ApprovalRequest(
                key=key,
                question=f"The agent looks stuck ({why}). Let it go on?",
                options=STUCK_OPTIONS,
                payload={"turn": session.cursor.turn, "why": why},
                timeout_seconds=24 * 3600,
                on_timeout="stop",
            )
        )
    cursor.stuck_key = cursor.stuck_why = None
    if decision.decision == "continue":
        cursor.idle_turns, cursor.repeats, cursor.nudged = 0, [], False
        session.ctx.log(f"Turn {cursor.turn}: allowed to go on by {decision.decided_by}")
        return session.result()
    cursor.stop_reason = "stuck"
    cursor.pending = []
    session.ctx.log(f"Turn {cursor.turn}: stopped as stuck ({why})", "warning")
    return session.result()
