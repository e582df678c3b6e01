"""The turns of a conversation with a model, in one provider-neutral shape.

A transcript is a list of these: it serialises to plain JSON (`dump_transcript`), loads back
(`load_transcript`), and can be sent to any provider, whichever one it was recorded with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class LLMMessage(BaseModel):
    """A plain text turn: the layer's original message type, accepted wherever a `Message` is
    (it has the same JSON shape as a `UserMessage` or a text-only `AssistantMessage`)."""

    role: Literal["user", "assistant"]
    content: str


class ToolCall(BaseModel):
    """The model asks to run tool `name` with `arguments`.

    When a model sends arguments that are not a JSON object (OpenAI-style providers send them
    as a JSON string, and models do get it wrong), `arguments` is empty, `arguments_error`
    says what was wrong and `raw_arguments` keeps the text as sent, so the agent can answer
    with an error result the model can correct itself from."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_error: str | None = None
    raw_arguments: str | None = None

    def result(self, content: str, *, is_error: bool = False) -> ToolResult:
        """The answer to this call, to append to the conversation."""
        return ToolResult(call_id=self.id, content=content, is_error=is_error)


class UserMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["user"] = "user"
    content: str


class AssistantMessage(BaseModel):
    """A model's turn: text, tool calls, or both."""

    model_config = ConfigDict(frozen=True)

    role: Literal["assistant"] = "assistant"
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)


class ToolResult(BaseModel):
    """What running the tool of call `call_id` gave; `is_error` when it failed."""

    model_config = ConfigDict(frozen=True)

    role: Literal["tool"] = "tool"
    call_id: str = Field(min_length=1)
    content: str
    is_error: bool = False


Message = Annotated[UserMessage | AssistantMessage | ToolResult, Field(discriminator="role")]
# What complete() accepts: the typed turns, or the original plain text ones.
AnyMessage = UserMessage | AssistantMessage | ToolResult | LLMMessage

_transcript: TypeAdapter[list[Message]] = TypeAdapter(list[Message])


def typed(messages: Iterable[AnyMessage]) -> list[UserMessage | AssistantMessage | ToolResult]:
    """`messages` with every plain `LLMMessage` turned into its typed equivalent."""
    result: list[UserMessage | AssistantMessage | ToolResult] = []
    for message in messages:
        if isinstance(message, LLMMessage):
            kind = UserMessage if message.role == "user" else AssistantMessage
            result.append(kind(content=message.content))
        else:
            result.append(message)
    return result


def dump_transcript(messages: Iterable[AnyMessage]) -> list[dict[str, Any]]:
    """The conversation as JSON-ready dicts (store them with the deployment, say)."""
    return _transcript.dump_python(typed(messages), mode="json", exclude_none=True)


def load_transcript(data: Iterable[dict[str, Any]] | str | bytes) -> list[Message]:
    """A conversation stored by `dump_transcript`: its dicts, or their JSON text."""
    if isinstance(data, str | bytes):
        return _transcript.validate_json(data)
    return _transcript.validate_python(list(data))
