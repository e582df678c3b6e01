"""Between the provider-neutral conversation and Anthropic's Messages API: request params out,
the SDK's `Message` back. Plain data; the SDK's types are only imported for type checking."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from haymaker.llm.base import LLMResponse, LLMUsage, StopReason
from haymaker.llm.messages import AnyMessage, AssistantMessage, ToolCall, ToolResult, typed
from haymaker.llm.tools import ToolChoice, ToolSpec

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam, ToolChoiceParam, ToolParam


def messages_param(messages: Sequence[AnyMessage]) -> list[MessageParam]:
    """Assistant turns as they are; every run of tool results (and any text after them) as
    ONE user turn, which is how the API wants the answers to a turn's tool calls."""
    turns: list[MessageParam] = []
    user_blocks: list[dict[str, Any]] = []

    def end_user_turn() -> None:
        if len(user_blocks) == 1 and user_blocks[0]["type"] == "text":
            turns.append({"role": "user", "content": user_blocks[0]["text"]})
        elif user_blocks:
            turns.append({"role": "user", "content": list(user_blocks)})  # type: ignore[typeddict-item]
        user_blocks.clear()

    for message in typed(messages):
        if isinstance(message, AssistantMessage):
            end_user_turn()
            turns.append(_assistant_turn(message))
        elif isinstance(message, ToolResult):
            user_blocks.append(_tool_result(message))
        else:
            user_blocks.append({"type": "text", "text": message.content})
    end_user_turn()
    return turns


def tools_param(tools: Sequence[ToolSpec]) -> list[ToolParam]:
    params: list[ToolParam] = []
    for tool in tools:
        param: ToolParam = {"name": tool.name, "input_schema": tool.input_schema}
        if tool.description:
            param["description"] = tool.description
        params.append(param)
    return params


def tool_choice_param(choice: ToolChoice) -> ToolChoiceParam:
    if isinstance(choice, ToolSpec):
        return {"type": "tool", "name": choice.name}
    if choice == "required":
        return {"type": "any"}
    return {"type": choice}


def response(message: Message) -> LLMResponse:
    text = "".join(block.text for block in message.content if block.type == "text")
    calls = [
        ToolCall(id=block.id, name=block.name, arguments=dict(block.input))
        for block in message.content
        if block.type == "tool_use"
    ]
    raw = message.stop_reason
    details = getattr(message, "stop_details", None)
    usage = message.usage
    # the input a request is billed for includes what was written to or read from the cache
    input_tokens = sum(
        getattr(usage, name, 0) or 0
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return LLMResponse(
        content=text,
        model=message.model,
        usage=LLMUsage(input_tokens=input_tokens, output_tokens=usage.output_tokens, calls=1),
        stop_reason=StopReason.of(raw) if raw else None,
        raw_stop_reason=raw,
        tool_calls=calls,
        refusal=getattr(details, "explanation", None) if raw == "refusal" else None,
    )


def _assistant_turn(message: AssistantMessage) -> MessageParam:
    if not message.tool_calls:
        return {"role": "assistant", "content": message.content}
    blocks: list[Any] = [{"type": "text", "text": message.content}] if message.content else []
    blocks += [
        {
            "type": "tool_use",
            "id": _tool_use_id(call.id),
            "name": call.name,
            "input": call.arguments,
        }
        for call in message.tool_calls
    ]
    return {"role": "assistant", "content": blocks}


def _tool_result(result: ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": _tool_use_id(result.call_id),
        "content": result.content,
    }
    if result.is_error:
        block["is_error"] = True
    return block


def _tool_use_id(call_id: str) -> str:
    """Anthropic takes ids of letters, digits, _ and - only; ids recorded with another provider
    may hold more. The same mapping for a call and its result keeps them paired."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", call_id)
