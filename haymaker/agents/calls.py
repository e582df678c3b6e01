"""A tool call: one step per call the model asked for. The ledger row the model turn wrote
is marked started before the tool runs and done after; a re-run finds it done (and takes
its outcome), or started (a crash mid-call: a tool without side effects simply runs again,
a side-effecting one is confirmed by the tool, or a person decides). Tools that need
approval wait for a person first, and a rejection is the tool's result for the model."""

from __future__ import annotations

from haymaker.agents import prompts
from haymaker.agents.session import AgentSession, approval_key
from haymaker.agents.state import Finish, PendingCall
from haymaker.agents.transcript import ShownToolResult, masked
from haymaker.agents.turns import stuck
from haymaker.approvals import ApprovalRequest
from haymaker.llm import ToolCall
from haymaker.store.toolcalls import CallStatus, LedgerRow
from haymaker.tools import FINISH_TOOL, ToolDeferred, ToolInfo, ToolOutcome, UnknownToolError
from haymaker.workloads.base import StepResult, WorkloadError

CONFIRM_OPTIONS = ["run_again", "skip"]


async def tool_step(session: AgentSession) -> StepResult:
    cursor = session.cursor
    pending = cursor.pending[0]
    row = await session.ledger.get(session.deployment_id, cursor.turn, pending.id)
    if row is None:
        raise WorkloadError(f"tool call {pending.id} of turn {cursor.turn} is not in the ledger")
    info = _info(session, row.tool)
    try:
        outcome = await _outcome(session, pending, row, info)
    except ToolDeferred as exc:
        # Nothing was sent (a service's rate limit): wait durably, then this step again.
        session.ctx.log(f"Turn {cursor.turn}: {row.tool} deferred: {exc}")
        return session.result(resume_at=exc.retry_at)
    if isinstance(outcome, StepResult):
        return outcome  # waiting for a person
    return await _answer(session, pending, row, outcome)


async def _outcome(
    session: AgentSession, pending: PendingCall, row: LedgerRow, info: ToolInfo | None
) -> ToolOutcome | StepResult:
    if row.status is CallStatus.DONE and row.outcome is not None:
        return row.outcome  # an earlier run of this step ran it
    if info is None:
        known = ", ".join(session.toolbox.names)
        return ToolOutcome.error(f"there is no tool {row.tool!r}; the tools are: {known}")
    if row.arguments_error is not None:
        return ToolOutcome.error(
            f"the arguments for {row.tool} were not usable: {row.arguments_error}"
        )
    if row.status is CallStatus.STARTED and info.side_effects:
        return await _interrupted(session, pending, row)
    if row.status is CallStatus.REQUESTED:
        repeated = _repeated(session, row)
        if repeated is not None:
            return repeated
    if _needs_approval(session, info):
        decision = session.ctx.approval(approval_key("tool", row.turn, row.call_id))
        if decision is None:
            return session.ask(_tool_approval(session, row))
        if decision.decision != "approve":
            said = f": {decision.comment}" if decision.comment else ""
            by = "on timeout" if decision.timed_out else f"by {decision.decided_by}"
            return ToolOutcome.error(f"not run: {decision.decision} {by}{said}")
    return await _run(session, row, info)


async def _run(session: AgentSession, row: LedgerRow, info: ToolInfo) -> ToolOutcome:
    """Recorded started before, done after: the call's side effect is never repeated
    blindly. A call without side effects may simply run again, so it is not marked started."""
    started = row.model_copy(update={"side_effects": info.side_effects})
    if info.side_effects:
        started = await session.ledger.start(session.deployment_id, started, session.now)
    call = ToolCall(id=row.call_id, name=row.tool, arguments=row.arguments)
    try:
        outcome = await session.toolbox.run(call, session.tool_context)
    except ToolDeferred:
        if info.side_effects:  # it did not start after all
            await session.ledger.request(session.deployment_id, [row])
        raise
    if outcome.resources:  # recorded at once: cleanup must know of them whatever happens next
        stores = session.ctx.stores
        assert stores is not None
        await stores.resources.put(session.deployment_id, outcome.resources)
    done = session.ledger.finish(session.deployment_id, started, outcome, session.now)
    if info.side_effects:
        await done  # before anything else: the effect is known to have happened
    else:
        # Written beside the answer (_answer): if only the answer lands, a re-run runs the
        # call again, which a call without side effects allows.
        session.with_next_entry.append(done)
    return outcome


async def _interrupted(
    session: AgentSession, pending: PendingCall, row: LedgerRow
) -> ToolOutcome | StepResult:
    """A side-effecting call that started and never finished: did it take effect?"""
    call = ToolCall(id=row.call_id, name=row.tool, arguments=row.arguments)
    key = approval_key("confirm", row.turn, row.call_id)
    decision = session.ctx.approval(key)
    if decision is None:
        confirmation = await session.toolbox.confirm(call, session.tool_context)
        if confirmation.status == "done" and confirmation.outcome is not None:
            session.ctx.log(f"{row.tool}: an interrupted call had run; its result is kept")
            await session.ledger.finish(
                session.deployment_id, row, confirmation.outcome, session.now
            )
            return confirmation.outcome
        if confirmation.status == "not_done":
            session.ctx.log(f"{row.tool}: an interrupted call had not run; running it")
            return await _run(session, row, _info(session, row.tool) or _missing(row))
        return session.ask(
            ApprovalRequest(
                key=key,
                question=(
                    f"{row.tool} was interrupted and may or may not have run "
                    f"({confirmation.detail or 'the tool cannot tell'}). Run it again?"
                ),
                options=CONFIRM_OPTIONS,
                payload={"tool": row.tool, "arguments": masked(row.arguments)},
                timeout_seconds=24 * 3600,
                on_timeout="skip",
            )
        )
    if decision.decision == "run_again":
        return await _run(session, row, _info(session, row.tool) or _missing(row))
    outcome = ToolOutcome.error(
        f"not run again after an interruption ({decision.decided_by} chose to skip it); "
        "it may or may not have taken effect"
    )
    await session.ledger.finish(session.deployment_id, row, outcome, session.now)
    return outcome


def _repeated(session: AgentSession, row: LedgerRow) -> ToolOutcome | StepResult | None:
    """The same call (tool and arguments) `stuck_after` times in a row: told to the model
    once instead of run, then a person decides whether the agent may go on."""
    cursor, limit = session.cursor, session.config["stuck_after"]
    recent = [*cursor.repeats, row.signature][-limit:]
    if len(recent) < limit or len(set(recent)) != 1:
        return None
    if not cursor.nudged:
        cursor.nudged = True
        session.ctx.log(f"{row.tool} called {limit} times with the same arguments; told the model")
        return ToolOutcome.error(prompts.repeat_nudge(row.tool, limit))
    why = f"{row.tool} called {limit} times in a row with the same arguments"
    return stuck(session, why, approval_key("stuck", row.turn, row.call_id))


async def _answer(
    session: AgentSession, pending: PendingCall, row: LedgerRow, outcome: ToolOutcome
) -> StepResult:
    cursor = session.cursor
    await session.append(
        session.entry(
            "tool",
            tool_result=ShownToolResult(
                call_id=pending.id,
                name=pending.name,
                content=outcome.content,
                is_error=outcome.is_error,
                truncated=outcome.truncated,
            ),
            full_content=outcome.full_content,
        )
    )
    session.ctx.resources.extend(outcome.resources)
    session.ctx.logs.extend(session.tool_context.logs)
    cursor.tool_calls += 1
    cursor.repeats = [*cursor.repeats, row.signature][-session.config["stuck_after"] :]
    cursor.pending = cursor.pending[1:]
    status = "error" if outcome.is_error else "ok"
    session.ctx.log(f"Turn {cursor.turn}: {pending.name} -> {status}")
    if pending.name == FINISH_TOOL and not outcome.is_error and isinstance(outcome.data, dict):
        cursor.finished = Finish.model_validate(outcome.data)
        cursor.stop_reason = "finished"
        cursor.pending = []
    return session.result()


def _info(session: AgentSession, name: str) -> ToolInfo | None:
    try:
        return session.toolbox.info(name)
    except UnknownToolError:
        return None


def _missing(row: LedgerRow) -> ToolInfo:
    raise WorkloadError(f"tool {row.tool} is no longer offered to this agent")


def _needs_approval(session: AgentSession, info: ToolInfo) -> bool:
    return info.requires_approval or info.name in session.config["approve_tools"]


def _tool_approval(session: AgentSession, row: LedgerRow) -> ApprovalRequest:
    return ApprovalRequest(
        key=approval_key("tool", row.turn, row.call_id),
        question=f"The agent wants to run {row.tool}. Allow it?",
        payload={"tool": row.tool, "arguments": masked(row.arguments)},
    )
