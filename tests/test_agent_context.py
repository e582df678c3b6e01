"""What a model turn reads: the entries the committed cursor has passed come from this
process's memory, only the rest from the table, and the model is sent exactly what a
fresh read of the whole transcript would send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from haymaker.agents import context
from haymaker.agents.context import KeptEntries
from haymaker.agents.transcript import TranscriptEntry
from haymaker_testing import DurableHarness, LLMStub, tool_call

AT = datetime(2026, 1, 1, tzinfo=UTC)


def entry(index: int, text: str = "x") -> TranscriptEntry:
    return TranscriptEntry(index=index, turn=index, role="user", at=AT, content=text)


def test_entries_are_kept_from_the_range_start_up_to_the_committed_cursor():
    kept = KeptEntries()
    key = ("d1", "t1")
    kept.keep(key, entry(0), 1, [entry(1), entry(2), entry(3)], below=3)
    held = kept.get(key, 1)
    assert held is not None
    assert [e.index for e in held.entries] == [1, 2]  # 3 is not committed: it may be rewritten
    assert kept.get(key, 2) is held  # a later range start is covered too
    assert kept.get(("d1", "another life"), 1) is None


def test_nothing_is_kept_before_the_goal_is_committed():
    kept = KeptEntries()
    kept.keep(("d1", "t1"), entry(0), 1, [entry(1)], below=0)
    assert kept.get(("d1", "t1"), 1) is None


def test_a_range_starting_before_what_is_kept_is_not_covered():
    kept = KeptEntries()
    kept.keep(("d1", "t1"), entry(0), 5, [entry(5)], below=6)
    assert kept.get(("d1", "t1"), 5) is not None
    assert kept.get(("d1", "t1"), 1) is None


def test_the_least_recently_used_transcript_goes_first():
    kept = KeptEntries(max_transcripts=2)
    for name in ("a", "b"):
        kept.keep((name, "t"), entry(0), 1, [entry(1)], below=2)
    assert kept.get(("a", "t"), 1) is not None  # a is now the more recently used
    kept.keep(("c", "t"), entry(0), 1, [entry(1)], below=2)
    assert kept.get(("b", "t"), 1) is None
    assert kept.get(("a", "t"), 1) is not None
    assert kept.get(("c", "t"), 1) is not None


def test_characters_are_bounded_and_one_transcript_cannot_take_over():
    kept = KeptEntries(max_chars=4_000)
    kept.keep(("big", "t"), entry(0), 1, [entry(1, "y" * 2_000)], below=2)
    assert kept.get(("big", "t"), 1) is None  # over a quarter of the bound
    for name in "abcdefgh":
        kept.keep((name, "t"), entry(0), 1, [entry(1, "y" * 300)], below=2)
    held = [name for name in "abcdefgh" if kept.get((name, "t"), 1) is not None]
    assert 0 < len(held) < 8
    assert held == list("abcdefgh")[-len(held) :]  # the newest stay


@pytest.fixture
async def harness(storage_connection):
    async with DurableHarness(storage=storage_connection) as running:
        yield running


def script() -> LLMStub:
    notes = [
        tool_call("memory_write", {"key": f"k{i}", "text": f"note {i}"}, call_id=f"c{i}")
        for i in range(5)
    ]
    return LLMStub([*notes, tool_call("finish", {"summary": "noted"}, call_id="end")])


async def run_agent(harness: DurableHarness, reads: list[int]) -> LLMStub:
    store = harness.stores.transcripts
    read = store.read

    async def counted(*args, **kwargs):
        entries = await read(*args, **kwargs)
        reads.append(len(entries))
        return entries

    store.read = counted  # type: ignore[method-assign]
    try:
        config = {"goal": "Write five notes.", "tools": ["memory_write", "finish"]}
        run = await harness.deploy("goal-agent", {**config, "max_turns": 10})
        run.llm = script()
        await run.run_to_completion()
        assert (await run.state()).status == "completed"
        return run.llm
    finally:
        store.read = read  # type: ignore[method-assign]


async def test_a_turn_reads_only_new_entries_and_sends_what_a_full_read_would(harness, monkeypatch):
    monkeypatch.setattr(context, "KEPT", KeptEntries(max_transcripts=0))  # keeps nothing
    uncached_reads: list[int] = []
    uncached = await run_agent(harness, uncached_reads)
    monkeypatch.setattr(context, "KEPT", KeptEntries())
    cached_reads: list[int] = []
    cached = await run_agent(harness, cached_reads)

    assert [r.messages for r in cached.requests] == [r.messages for r in uncached.requests]
    assert len(cached.requests) == 6
    # Without keeping, every turn reads the goal and the whole transcript after it, which
    # grows by a call and its result each turn.
    # Without keeping, every turn reads the goal, then the whole transcript after it, which
    # grows by an answer and a call's result each turn.
    assert uncached_reads == [1, 0, 1, 2, 1, 4, 1, 6, 1, 8, 1, 10]
    # Kept: the first turn's goal was not committed yet, so the second reads cold too; from
    # then on a turn reads the two entries written since the last one (answer and result).
    assert cached_reads == [1, 0, 1, 2, 2, 2, 2, 2]
