"""An agent's transcript: every message of its conversation with the model, one entry each,
stored in a table of its own (never in the orchestration's history), with the usage of each
model turn, tool calls with their arguments (secrets masked) and tool results (what the
model saw, and the full text when that was cut).

`conversation()` turns entries into the messages sent to the model: a summary entry stands
in for the entries it replaces, so the context stays bounded while the transcript is kept
whole."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from haymaker.llm.messages import AssistantMessage, Message, ToolCall, ToolResult, UserMessage

Role = Literal["user", "assistant", "tool", "summary"]
MASK = "[redacted]"
# Argument names whose values are credentials: masked wherever a transcript shows them.
_SECRET_NAME = re.compile(
    r"(authorization|api[-_]?key|token|secret|password|passwd|cookie|credential)", re.I
)


class TurnUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0


class ShownToolCall(BaseModel):
    """A tool call as the transcript keeps it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_error: str | None = None


class ShownToolResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    name: str
    content: str = Field(description="what the model was shown")
    is_error: bool = False
    truncated: bool = False


class TranscriptEntry(BaseModel):
    model_config = ConfigDict(defer_build=True)

    index: int = Field(ge=0, description="dense, from 0")
    turn: int = Field(ge=0, description="the model turn this belongs to")
    role: Role
    at: datetime
    content: str = ""
    tool_calls: list[ShownToolCall] = Field(default_factory=list)
    tool_result: ShownToolResult | None = None
    full_content: str | None = Field(
        default=None, description="a tool result's whole text, when the model saw it cut"
    )
    usage: TurnUsage | None = None
    model: str | None = None
    replaces: tuple[int, int] | None = Field(
        default=None, description="a summary: the first and last index it stands in for"
    )


def masked(arguments: Any) -> Any:
    """`arguments` with every value under a credential-like name masked (recursively); the
    whole header map of a request is masked, as any header may carry one."""
    if isinstance(arguments, dict):
        return {
            key: (
                MASK
                if isinstance(key, str) and (_SECRET_NAME.search(key) or key == "headers")
                else masked(value)
            )
            for key, value in arguments.items()
        }
    if isinstance(arguments, list):
        return [masked(item) for item in arguments]
    return arguments


def shown_calls(calls: Sequence[ToolCall]) -> list[ShownToolCall]:
    return [
        ShownToolCall(
            id=call.id,
            name=call.name,
            arguments=masked(call.arguments),
            arguments_error=call.arguments_error,
        )
        for call in calls
    ]


def conversation(entries: Sequence[TranscriptEntry]) -> list[Message]:
    """The messages for the model, in order. The latest summary stands in, where its range
    begins, for every entry it replaces (earlier summaries included)."""
    summaries = [entry for entry in entries if entry.role == "summary" and entry.replaces]
    summary = max(summaries, key=lambda entry: entry.index) if summaries else None
    first, last = summary.replaces if summary and summary.replaces else (-1, -2)
    messages: list[Message] = []
    pending_summary = summary
    for entry in sorted(entries, key=lambda entry: entry.index):
        if pending_summary is not None and entry.index > last:
            _add_user(messages, f"Summary of the work so far:\n{pending_summary.content}")
            pending_summary = None
        if first <= entry.index <= last or entry.role == "summary":
            continue
        if entry.role == "user":
            _add_user(messages, entry.content)
        elif entry.role == "assistant":
            calls = [
                ToolCall(
                    id=call.id,
                    name=call.name,
                    arguments=call.arguments,
                    arguments_error=call.arguments_error,
                )
                for call in entry.tool_calls
            ]
            messages.append(AssistantMessage(content=entry.content, tool_calls=calls))
        elif entry.tool_result is not None:
            result = entry.tool_result
            messages.append(
                ToolResult(call_id=result.call_id, content=result.content, is_error=result.is_error)
            )
    return messages


def _add_user(messages: list[Message], text: str) -> None:
    """A user turn, joined to the one before if that is a user turn too (providers want
    turns to alternate)."""
    if messages and isinstance(messages[-1], UserMessage):
        messages[-1] = UserMessage(content=f"{messages[-1].content}\n\n{text}")
    else:
        messages.append(UserMessage(content=text))
