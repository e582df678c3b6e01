"""Between the provider-neutral conversation and OpenAI-style Chat Completions (OpenAI, Azure
OpenAI, Foundry): request params out, the SDK's `ChatCompletion` back. Plain data; the SDK's
types are only imported for type checking."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from haymaker.llm.base import LLMResponse, LLMUsage, StopReason
from haymaker.llm.messages import AnyMessage, AssistantMessage, ToolCall, ToolResult, typed
from haymaker.llm.tools import ToolChoice, ToolSpec

if TYPE_CHECKING:
    from openai.types.chat import (
        ChatCompletion,
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageParam,
        ChatCompletionToolChoiceOptionParam,
    )

# Chat Completions has no error flag on a tool result: the model reads it from the text.
TOOL_ERROR_PREFIX = "Error: "


def messages_param(
    messages: Sequence[AnyMessage], system: str | None
) -> list[ChatCompletionMessageParam]:
    chat: list[ChatCompletionMessageParam] = (
        [{"role": "system", "content": system}] if system else []
    )
    for message in typed(messages):
        if isinstance(message, AssistantMessage):
            chat.append(_assistant_message(message))
        elif isinstance(message, ToolResult):
            prefix = TOOL_ERROR_PREFIX if message.is_error else ""
            chat.append(
                {
                    "role": "tool",
                    "tool_call_id": message.call_id,
                    "content": prefix + message.content,
                }
            )
        else:
            chat.append({"role": "user", "content": message.content})
    return chat


def tools_param(tools: Sequence[ToolSpec]) -> list[ChatCompletionFunctionToolParam]:
    params: list[ChatCompletionFunctionToolParam] = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
        if tool.description:
            function["description"] = tool.description
        params.append({"type": "function", "function": function})  # type: ignore[typeddict-item]
    return params


def tool_choice_param(choice: ToolChoice) -> ChatCompletionToolChoiceOptionParam:
    if isinstance(choice, ToolSpec):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def response(completion: ChatCompletion) -> LLMResponse:
    choice = completion.choices[0]
    message = choice.message
    raw = choice.finish_reason
    stop = StopReason.of(raw) if raw else None
    if message.refusal:
        stop = StopReason.REFUSAL  # OpenAI refuses with finish_reason "stop" and this text
    usage = completion.usage
    return LLMResponse(
        content=message.content or "",
        model=completion.model,
        usage=LLMUsage(
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            calls=1,
        ),
        stop_reason=stop,
        raw_stop_reason=raw,
        tool_calls=[_tool_call(call) for call in message.tool_calls or ()],
        refusal=message.refusal,
    )


def _assistant_message(message: AssistantMessage) -> ChatCompletionMessageParam:
    if not message.tool_calls:
        return {"role": "assistant", "content": message.content}
    return {
        "role": "assistant",
        "content": message.content or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    # what the model sent, even if it was not JSON: it sees its own mistake
                    "arguments": call.raw_arguments
                    if call.raw_arguments is not None
                    else json.dumps(call.arguments),
                },
            }
            for call in message.tool_calls
        ],
    }


def _tool_call(call: Any) -> ToolCall:
    function = call.function  # only function tools are offered, so only those come back
    raw = function.arguments
    if not raw.strip():
        return ToolCall(id=call.id, name=function.name)  # some servers send "" for no arguments
    try:
        arguments = json.loads(raw)
    except ValueError as exc:
        problem = f"the arguments are not valid JSON ({exc})"
    else:
        if isinstance(arguments, dict):
            return ToolCall(id=call.id, name=function.name, arguments=arguments)
        problem = f"the arguments are JSON but not an object (got {type(arguments).__name__})"
    return ToolCall(id=call.id, name=function.name, arguments_error=problem, raw_arguments=raw)
