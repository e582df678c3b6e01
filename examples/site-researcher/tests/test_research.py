"""The site researcher end to end on the real orchestrator and activities, its model
scripted: it reads pages, keeps notes, answers, and stays on its site."""

from __future__ import annotations

import pytest

from haymaker.errors import ConfigError
from haymaker.store.memory import MemoryScope
from haymaker_testing import LLMStub, tool_call

QUESTION = "Who runs Crumb & Co?"


def research(url: str) -> list:
    return [
        tool_call("http_fetch", {"url": f"{url}/"}),
        tool_call("http_fetch", {"url": f"{url}/about"}),
        tool_call("memory_write", {"key": "owner", "text": "Ada Baker runs Crumb & Co (/about)"}),
        tool_call("finish", {"summary": "Ada Baker runs Crumb & Co (source: /about)."}),
        "YES: the answer names the owner and cites /about.",
    ]


async def test_it_answers_from_the_site_and_keeps_a_note(harness, bakery):
    run = await harness.deploy(
        "site-researcher", {"question": QUESTION, "start_url": f"{bakery.url}/"}
    )
    run.llm = LLMStub(research(bakery.url))
    await run.run_to_completion()
    state = await run.state()
    assert state.status == "completed", state.error
    assert state.metadata["goal_achieved"] is True
    assert "Ada Baker" in state.metadata["summary"]
    assert bakery.hits == ["/", "/about"]
    note = await harness.stores.memory.read(MemoryScope.deployment(run.deployment_id), "owner")
    assert note is not None
    assert "Ada Baker" in note.text
    entries = await harness.stores.transcripts.read(run.deployment_id)
    assert QUESTION in entries[0].content
    assert "Ada Baker" in entries[4].tool_result.content  # the /about page, as text


async def test_with_remember_on_a_later_run_reads_its_notes_instead_of_the_site(harness, bakery):
    config = {"question": QUESTION, "start_url": f"{bakery.url}/", "remember": True}
    first = await harness.deploy("site-researcher", config)
    first.llm = LLMStub(research(bakery.url))
    await first.run_to_completion()
    hits = len(bakery.hits)
    second = await harness.deploy("site-researcher", config)
    second.llm = LLMStub(
        [
            tool_call("memory_search", {"query": "Crumb"}),
            tool_call("finish", {"summary": "Ada Baker (from my notes)."}),
            "YES",
        ]
    )
    await second.run_to_completion()
    assert (await second.state()).status == "completed"
    assert len(bakery.hits) == hits  # the site was not read again
    entries = await harness.stores.transcripts.read(second.deployment_id)
    assert "Ada Baker" in entries[2].tool_result.content


async def test_it_may_not_leave_its_site(harness, bakery):
    run = await harness.deploy(
        "site-researcher", {"question": QUESTION, "start_url": f"{bakery.url}/"}
    )
    run.llm = LLMStub(
        [
            tool_call("http_fetch", {"url": "http://localhost:9/elsewhere"}),
            tool_call("finish", {"summary": "could not leave the site"}),
            "NO",
        ]
    )
    await run.run_to_completion()
    entries = await harness.stores.transcripts.read(run.deployment_id)
    refused = entries[2].tool_result
    assert refused.is_error
    assert "localhost" in refused.content
    assert bakery.hits == []


@pytest.mark.parametrize("url", ["ftp://example.org/", "not a url"])
async def test_a_start_url_that_is_not_http_is_refused(harness, url):
    with pytest.raises(ConfigError, match="start_url"):
        await harness.deploy("site-researcher", {"question": QUESTION, "start_url": url})


async def test_the_turn_limit_follows_max_pages(harness, bakery):
    run = await harness.deploy(
        "site-researcher", {"question": QUESTION, "start_url": f"{bakery.url}/", "max_pages": 1}
    )
    run.llm = LLMStub(lambda messages: "Let me think about it.")
    await run.run_to_completion()
    state = await run.state()
    assert state.metadata["stop_reason"] in ("max_turns", "stuck")
    assert state.metadata["turns"] <= 4
