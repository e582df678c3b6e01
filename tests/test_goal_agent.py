"""The goal-agent on the real orchestrator and activities (DurableHarness, Azurite), its
model scripted with tool calls: turns and calls as steps, the transcript, the ledger,
approvals on tools, stuck detection, summaries, evaluation, cleanup of what tools made."""

from __future__ import annotations

import pytest

from haymaker.llm import ToolResult, UserMessage
from haymaker_testing import DurableHarness, LLMStub, tool_call, tool_calls
from tests.support.http_site import serve

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def site():
    async with serve() as running:
        yield running


@pytest.fixture
async def harness(storage_connection):
    async with DurableHarness(storage=storage_connection) as running:
        yield running


def agent_config(site_url: str, **extra):
    return {
        "goal": "Find out what the test page says.",
        "tools": ["http_fetch", "finish"],
        "allowed_hosts": ["127.0.0.1"],
        "max_turns": 6,
        **extra,
    }


async def transcript(harness, run):
    return await harness.stores.transcripts.read(run.deployment_id)


async def test_an_agent_fetches_a_page_and_finishes(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url))
    run.llm = LLMStub(
        [
            tool_call("http_fetch", {"url": f"{site.url}/page"}),
            tool_call("finish", {"summary": "The page says Hello world."}),
        ]
    )
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed", state.error
    assert state.metadata["stop_reason"] == "finished"
    assert state.metadata["summary"] == "The page says Hello world."
    assert state.metadata["goal_achieved"] is True
    assert state.metadata["turns"] == 2
    assert state.metadata["tool_calls"] == 2
    assert state.usage.llm_calls == 2
    entries = await transcript(harness, run)
    assert [e.role for e in entries] == ["user", "assistant", "tool", "assistant", "tool"]
    assert [e.index for e in entries] == list(range(5))
    fetched = entries[2].tool_result
    assert fetched.name == "http_fetch"
    assert not fetched.is_error
    assert "Hello world" in fetched.content
    # the second request carried the tool result back to the model
    second = run.llm.requests[1]
    assert isinstance(second.messages[-1], ToolResult)
    assert "Hello world" in second.messages[-1].content
    assert site.paths() == ["/page"]


async def test_each_model_turn_and_each_tool_call_is_its_own_step(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url))
    run.llm = LLMStub(
        [
            tool_calls(
                ("http_fetch", {"url": f"{site.url}/page"}),
                ("http_fetch", {"url": f"{site.url}/json"}),
            ),
            tool_call("finish", {"summary": "done"}),
        ]
    )
    await run.run_to_completion()
    marks = await harness.stores.logs.steps(run.deployment_id)
    act = [m for m in marks if m.phase == "act"]
    # turn 1, two calls, turn 2, finish, end of act
    assert [m.llm_calls for m in act] == [1, 0, 0, 1, 0, 0]
    assert sorted(site.paths()) == ["/json", "/page"]


async def test_a_tool_call_is_never_run_twice_when_its_step_is_rerun(harness, site):
    """The step of a tool call fails after the tool ran (as a crash would): the re-run
    finds the call done in the ledger and takes its outcome."""
    run = await harness.deploy("goal-agent", agent_config(site.url))
    run.llm = LLMStub(
        [
            tool_call("http_fetch", {"url": f"{site.url}/page"}),
            tool_call("finish", {"summary": "done"}),
        ]
    )
    await run.steps(2)  # reconcile, the first model turn
    call = (await run.record()).progress.cursor["pending"][0]
    row = await harness.stores.toolcalls.get(run.deployment_id, 1, call["id"])
    assert row.status == "requested"
    await run.run_to_completion()
    assert site.paths() == ["/page"]
    row = await harness.stores.toolcalls.get(run.deployment_id, 1, call["id"])
    assert row.status == "done"


async def test_a_tool_that_needs_approval_waits_and_a_rejection_is_its_result(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url, approve_tools=["http_fetch"]))
    run.llm = LLMStub(
        [
            tool_call(
                "http_fetch",
                {"url": f"{site.url}/page", "headers": {"Authorization": "Bearer s3cr3t"}},
            ),
            tool_call("finish", {"summary": "not allowed to fetch"}),
        ]
    )
    await run.run_to_completion()
    state = await run.state()
    assert state.awaiting_approval is not None
    assert "http_fetch" in state.awaiting_approval.question
    [approval] = await run.approvals()
    assert approval.payload["tool"] == "http_fetch"
    assert approval.payload["arguments"]["headers"] == "[redacted]"
    assert site.paths() == []
    await run.decide(approval.key, "reject", "not that site")
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed", state.error
    assert site.paths() == []  # rejected: never fetched
    entries = await transcript(harness, run)
    rejected = entries[2].tool_result
    assert rejected.is_error
    assert "reject by test: not that site" in rejected.content
    assert "s3cr3t" not in "".join(e.model_dump_json() for e in entries)
    assert "s3cr3t" not in "\n".join(await run.logs())


async def test_an_approved_tool_runs(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url, approve_tools=["http_fetch"]))
    run.llm = LLMStub(
        [
            tool_call("http_fetch", {"url": f"{site.url}/page"}),
            tool_call("finish", {"summary": "fetched"}),
        ]
    )
    await run.run_to_completion()
    [approval] = await run.approvals()
    await run.decide(approval.key, "approve")
    await run.run_to_completion()
    assert (await run.state()).status == "completed"
    assert site.paths() == ["/page"]


async def test_turn_limit_ends_the_act_phase(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url, max_turns=2, stuck_after=5))
    run.llm = LLMStub(lambda messages: "thinking...")
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed"
    assert state.metadata["stop_reason"] == "max_turns"
    assert state.metadata["goal_achieved"] is False
    assert state.metadata["turns"] == 2


async def test_turns_without_tools_are_told_once_then_ask_to_go_on(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url, max_turns=20, stuck_after=2))
    run.llm = LLMStub(lambda messages: "I am pondering.")
    await run.run_to_completion()
    state = await run.state()
    assert state.awaiting_approval is not None
    assert "stuck" in state.awaiting_approval.question
    entries = await transcript(harness, run)
    nudges = [e for e in entries if e.role == "user" and "not called a tool" in e.content]
    assert len(nudges) == 1
    await run.decide(state.awaiting_approval.key, "stop")
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed"
    assert state.metadata["stop_reason"] == "stuck"


async def test_the_same_call_three_times_is_told_to_the_model_instead_of_run(harness, site):
    url = f"{site.url}/page"
    replies = [tool_call("http_fetch", {"url": url}) for _ in range(3)]
    replies.append(tool_call("finish", {"summary": "gave up repeating"}))
    run = await harness.deploy("goal-agent", agent_config(site.url))
    run.llm = LLMStub(replies)
    await run.run_to_completion()
    assert (await run.state()).status == "completed"
    assert site.paths() == ["/page", "/page"]  # the third identical call was not run
    entries = await transcript(harness, run)
    told = [
        e.tool_result
        for e in entries
        if e.tool_result and "same arguments" in e.tool_result.content
    ]
    assert len(told) == 1
    assert told[0].is_error


async def test_success_criteria_are_judged_by_the_model(harness, site):
    run = await harness.deploy(
        "goal-agent", agent_config(site.url, success_criteria="The page's heading is reported.")
    )
    run.llm = LLMStub(
        [
            tool_call("finish", {"summary": "The heading is Hello world."}),
            "YES: the heading was reported.",
        ]
    )
    await run.run_to_completion()
    state = await run.state()
    assert state.metadata["goal_achieved"] is True
    assert state.metadata["evaluation"].startswith("YES")
    judged = run.llm.requests[-1]
    assert isinstance(judged.messages[0], UserMessage)
    assert "The heading is Hello world." in judged.messages[0].content


async def test_a_long_conversation_is_summarised_and_the_summary_replaces_it(harness, site):
    run = await harness.deploy(
        "goal-agent", agent_config(site.url, context_tokens=1000, stuck_after=10)
    )
    big = LLMStub(
        [
            tool_call("http_fetch", {"url": f"{site.url}/page"}),
            tool_call("http_fetch", {"url": f"{site.url}/json"}),
            "Summary: fetched the page (Hello world) and the json.",
            tool_call("finish", {"summary": "done"}),
        ],
        input_tokens=5000,
    )
    run.llm = big
    await run.run_to_completion()
    assert (await run.state()).status == "completed"
    entries = await transcript(harness, run)
    summaries = [e for e in entries if e.role == "summary"]
    assert summaries
    assert summaries[0].replaces[0] == 1
    last = big.requests[-1]
    assert "Summary of the work so far" in last.messages[0].content
    # the full transcript is kept
    assert [e.index for e in entries] == list(range(len(entries)))


async def test_an_unknown_tool_is_refused_at_deploy(harness):
    from haymaker.errors import ConfigError

    with pytest.raises(ConfigError, match="nope"):
        await harness.deploy("goal-agent", {"goal": "x", "tools": ["nope"]})


async def test_an_exhausted_budget_pauses_the_agent_until_raised(harness, site):
    run = await harness.deploy("goal-agent", agent_config(site.url), budget={"max_llm_calls": 1})
    run.llm = LLMStub(
        [
            tool_call("http_fetch", {"url": f"{site.url}/page"}),
            tool_call("finish", {"summary": "done"}),
        ]
    )
    await run.run_to_completion()
    state = await run.state()
    assert state.awaiting_approval is not None
    assert state.awaiting_approval.question.startswith(
        "budget exhausted: max_llm_calls used 1 of 1"
    )
    assert state.usage.llm_calls == 1
    await run.decide("budget", "approve", raise_budget={"max_llm_calls": 5})
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed", state.error
    assert state.budget.max_llm_calls == 5
    assert state.usage.llm_calls == 2


async def test_a_model_answer_recorded_before_a_crash_is_reused_not_asked_again(harness, site):
    """The model turn's step fails after the answer and its calls were recorded, before the
    deployment's state was written: the retried step takes the recorded answer (and counts
    its tokens once) instead of asking the model again."""
    run = await harness.deploy("goal-agent", agent_config(site.url))
    run.llm = LLMStub(
        [
            tool_call("http_fetch", {"url": f"{site.url}/page"}),
            tool_call("finish", {"summary": "done"}),
        ]
    )
    real_mutate = harness.stores.mutate
    failed = []

    async def crash_once_after_the_first_answer(deployment_id, change, **options):
        if len(run.llm.requests) == 1 and not failed:
            failed.append(True)
            raise RuntimeError("the host died before the step's state was written")
        return await real_mutate(deployment_id, change, **options)

    harness.stores.mutate = crash_once_after_the_first_answer
    try:
        await run.run_to_completion()
    finally:
        harness.stores.mutate = real_mutate
    state = await run.state()
    assert failed
    assert state.status == "completed", state.error
    assert len(run.llm.requests) == 2  # the first answer was not asked for again
    assert state.usage.llm_calls == 2
    assert site.paths() == ["/page"]
