"""A deterministic agent for the LLM stub server: its next move follows from the
conversation it is sent (how many tool results it holds), never from how often it was
asked, so a turn asked again after a crash gets the same answer.

The goal carries the plan: `PLAN: http_fetch url=http://..; tally; make_note name=n1 text=x`
and the agent calls each step's tool in order, then `finish`. A value that reads as JSON
(`a=2`, `body={"name":"Rex"}`) is sent as that JSON; others as text. It answers in the Anthropic
Messages API's wire format (tests/support/llm_replies.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.support.llm_replies import anthropic_message, text_block, tool_use_block
from tests.support.llm_stub import Recorded

PLAN = re.compile(r"PLAN: (.+)")


def plan_of(text: str) -> list[tuple[str, dict[str, Any]]]:
    match = PLAN.search(text)
    if not match:
        return []
    steps = []
    for part in match.group(1).split(";"):
        words = part.split()
        if not words:
            continue
        arguments: dict[str, Any] = {}
        for word in words[1:]:
            key, _, value = word.partition("=")
            try:
                arguments[key] = json.loads(value)
            except ValueError:
                arguments[key] = value
        steps.append((words[0], arguments))
    return steps


def results_so_far(body: dict[str, Any]) -> int:
    return sum(
        1
        for message in body.get("messages", [])
        if message.get("role") == "user" and isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )


def respond(request: Recorded) -> dict[str, Any]:
    messages = request.body.get("messages", [])
    first = messages[0]["content"] if messages else ""
    goal = first if isinstance(first, str) else " ".join(b.get("text", "") for b in first)
    if "tools" not in request.body:  # not an agent turn: an evaluation or a summary
        return anthropic_message(text_block("YES: the plan was carried out."))
    plan = plan_of(goal)
    done = results_so_far(request.body)
    if done < len(plan):
        name, arguments = plan[done]
        return anthropic_message(
            tool_use_block(f"toolu_{done:03d}", name, arguments), stop_reason="tool_use"
        )
    return anthropic_message(
        tool_use_block(f"toolu_{done:03d}", "finish", {"summary": f"ran {len(plan)} steps"}),
        stop_reason="tool_use",
    )
