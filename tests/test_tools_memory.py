"""The memory store on Azurite and the memory tools on top of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from haymaker.errors import InvalidKeyError
from haymaker.store import Stores
from haymaker.store import memory as memory_module
from haymaker.store.memory import (
    MAX_TEXT_CHARS,
    MemoryLimitError,
    MemoryScope,
    MemoryStore,
    memory_scope,
)
from haymaker.tools import ToolContext, get_registry

ONE = MemoryScope.deployment("dep-one")
TWO = MemoryScope.deployment("dep-two")
AGENT = MemoryScope.agent("researcher")


class Ticking:
    """A clock that moves a minute per reading, so "newest" is well defined."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def memory(stores: Stores) -> MemoryStore:
    return MemoryStore(stores.tables, clock=Ticking())


async def test_write_read_and_replace(memory: MemoryStore):
    written = await memory.write(ONE, " plan ", "step 1", ["todo", "todo", " "])
    assert (written.key, written.tags) == ("plan", ["todo"])
    assert await memory.read(ONE, "plan") == written
    again = await memory.write(ONE, "plan", "step 2")
    assert (await memory.read(ONE, "plan")) == again
    assert again.text == "step 2"
    assert [note.key for note in (await memory.page(ONE)).items] == ["plan"]
    assert await memory.read(ONE, "absent") is None


async def test_scopes_never_see_each_other(memory: MemoryStore):
    await memory.write(ONE, "k", "deployment one")
    await memory.write(TWO, "k", "deployment two")
    await memory.write(AGENT, "k", "the agent")
    assert (await memory.read(ONE, "k")).text == "deployment one"
    assert (await memory.read(TWO, "k")).text == "deployment two"
    assert (await memory.read(AGENT, "k")).text == "the agent"
    assert [note.text for note in await memory.search(TWO, "")] == ["deployment two"]


async def test_search_needs_every_term_and_ranks_by_matches(memory: MemoryStore):
    await memory.write(ONE, "paris", "Hotel in Paris, near the station", ["travel"])
    await memory.write(ONE, "rome", "Hotel in Rome; hotel prices are high", ["travel"])
    await memory.write(ONE, "budget", "Keep travel under 500 EUR")
    await memory.write(TWO, "other", "hotel elsewhere")

    assert [note.key for note in await memory.search(ONE, "HOTEL")] == ["rome", "paris"]
    assert [note.key for note in await memory.search(ONE, "hotel paris")] == ["paris"]
    # tags count, and equal scores give the newest first
    assert [note.key for note in await memory.search(ONE, "travel")] == ["budget", "rome", "paris"]
    assert [note.key for note in await memory.search(ONE, "travel", limit=1)] == ["budget"]
    assert await memory.search(ONE, "hotel madrid") == []
    assert [note.key for note in await memory.search(ONE, "")] == ["budget", "rome", "paris"]


async def test_limits(memory: MemoryStore, monkeypatch):
    with pytest.raises(MemoryLimitError, match="at most 128"):
        await memory.write(ONE, "k" * 129, "text")
    with pytest.raises(MemoryLimitError, match=f"at most {MAX_TEXT_CHARS}"):
        await memory.write(ONE, "k", "x" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(MemoryLimitError, match="at most 10 tags"):
        await memory.write(ONE, "k", "text", [f"t{n}" for n in range(11)])
    with pytest.raises(MemoryLimitError, match="a tag is at most"):
        await memory.write(ONE, "k", "text", ["t" * 41])
    with pytest.raises(InvalidKeyError, match="forbids"):
        await memory.write(ONE, "a/b", "text")
    with pytest.raises(MemoryLimitError, match="a search is at most"):
        await memory.search(ONE, "q" * 201)

    monkeypatch.setattr(memory_module, "MAX_NOTES_PER_SCOPE", 2)
    await memory.write(ONE, "a", "1")
    await memory.write(ONE, "b", "2")
    with pytest.raises(MemoryLimitError, match="most notes allowed"):
        await memory.write(ONE, "c", "3")
    await memory.write(ONE, "a", "overwriting is fine")
    await memory.write(TWO, "c", "another scope has its own room")


async def test_deleting_a_deployment_removes_only_its_own_notes(memory: MemoryStore):
    for number in range(3):
        await memory.write(ONE, f"n{number}", "x")
    await memory.write(TWO, "n0", "kept")
    await memory.write(AGENT, "n0", "kept")
    assert await memory.delete_deployment("dep-one") == 3
    assert await memory.search(ONE, "") == []
    assert await memory.read(TWO, "n0") is not None
    assert await memory.read(AGENT, "n0") is not None
    assert await memory.delete_deployment("dep-one") == 0  # safe to repeat
    await memory.delete(AGENT, "n0")
    assert await memory.read(AGENT, "n0") is None


def test_scopes_and_their_names():
    assert memory_scope("dep-one") == ONE
    assert memory_scope("dep-one", "researcher") == ONE
    assert memory_scope("dep-one", "researcher", enable_memory=True) == AGENT
    assert AGENT.partition == "agent:researcher"
    assert ONE.partition == "deployment:dep-one"
    with pytest.raises(ValueError, match="agent's name"):
        memory_scope("dep-one", enable_memory=True)
    with pytest.raises(InvalidKeyError):
        MemoryScope.agent("no/slashes")
    with pytest.raises(InvalidKeyError):
        MemoryScope.deployment("Not A Deployment")


# --- the tools -------------------------------------------------------------------------


async def call(name: str, ctx: ToolContext, **arguments):
    return await get_registry().call(name, arguments, ctx)


async def test_memory_tools_write_read_and_search(stores: Stores):
    ctx = ToolContext.from_config("dep-one", {}, memory=stores.memory, agent_name="researcher")
    assert ctx.memory_scope == ONE

    saved = await call("memory_write", ctx, key="hotel", text="Hotel Lux, 120 EUR", tags=["paris"])
    assert not saved.is_error
    assert saved.content == "saved note 'hotel' (18 characters)"
    read = await call("memory_read", ctx, key="hotel")
    assert read.content.startswith("hotel [paris] (saved ")
    assert read.content.endswith("UTC):\nHotel Lux, 120 EUR")
    assert read.data["text"] == "Hotel Lux, 120 EUR"

    await call("memory_write", ctx, key="long", text="paris " + "y" * 400)
    found = await call("memory_search", ctx, query="paris")
    assert found.content.splitlines()[0] == "2 notes found (memory_read shows one whole):"
    assert "- hotel [paris]: Hotel Lux, 120 EUR" in found.content
    assert "- long: paris " + "y" * 294 + "…" in found.content
    assert [note["key"] for note in found.data["notes"]] == ["long", "hotel"]
    nothing = await call("memory_search", ctx, query="rome")
    assert (nothing.is_error, nothing.content) == (False, "no notes found")

    # what the store keeps is what the tool wrote
    assert (await stores.memory.read(ONE, "hotel")).tags == ["paris"]


async def test_memory_tool_errors_are_results(stores: Stores):
    ctx = ToolContext.from_config("dep-one", {}, memory=stores.memory)
    missing = await call("memory_read", ctx, key="nothing")
    assert missing.is_error
    assert missing.content.startswith("there is no note 'nothing'")
    too_long = await call("memory_write", ctx, key="k", text="x" * (MAX_TEXT_CHARS + 1))
    assert too_long.is_error
    assert "text: String should have at most 16000 characters" in too_long.content
    bad_key = await call("memory_write", ctx, key="a#b", text="x")
    assert bad_key.is_error
    assert "forbids" in bad_key.content
    no_memory = await call("memory_read", ToolContext(deployment_id="dep-one"), key="k")
    assert (no_memory.is_error, no_memory.content) == (
        True,
        "memory is not available to this agent",
    )


async def test_enabled_memory_is_shared_by_the_agents_deployments(stores: Stores):
    config = {"enable_memory": True}
    first = ToolContext.from_config("dep-one", config, memory=stores.memory, agent_name="scout")
    second = ToolContext.from_config("dep-two", config, memory=stores.memory, agent_name="scout")
    other = ToolContext.from_config("dep-three", config, memory=stores.memory, agent_name="miner")
    await call("memory_write", first, key="lesson", text="the API paginates")
    assert (await call("memory_read", second, key="lesson")).data["text"] == "the API paginates"
    assert (await call("memory_read", other, key="lesson")).is_error
    # a deployment's cleanup leaves the agent's shared notes alone
    await stores.memory.delete_deployment("dep-one")
    assert not (await call("memory_read", second, key="lesson")).is_error
