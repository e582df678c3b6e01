"""Spans of model and tool calls, by the OpenTelemetry GenAI semantic conventions
(gen_ai.* attributes): the model asked for and answering, the tokens used and why the model
stopped; a tool's name and call id. Never a prompt, a completion or a tool's arguments:
they may carry anything, secrets included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from haymaker import tracing

if TYPE_CHECKING:
    from haymaker.llm.base import LLMResponse

# gen_ai.provider.name of each of haymaker.llm.config.Provider's values.
PROVIDERS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai_foundry": "azure.ai.inference",
}


@contextmanager
def chat_span(provider: str, model: str, max_tokens: int | None) -> Iterator[Any]:
    with tracing.span(
        f"chat {model}",
        kind="client",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDERS.get(provider, provider),
            "gen_ai.request.model": model,
            "gen_ai.request.max_tokens": max_tokens,
        },
    ) as span:
        yield span


def record_response(span: Any, response: LLMResponse) -> None:
    reason = response.raw_stop_reason or (response.stop_reason and response.stop_reason.value)
    tracing.set_attributes(
        span,
        {
            "gen_ai.response.model": response.model,
            "gen_ai.usage.input_tokens": response.usage.input_tokens,
            "gen_ai.usage.output_tokens": response.usage.output_tokens,
            "gen_ai.response.finish_reasons": [reason] if reason else None,
        },
    )


@contextmanager
def tool_span(name: str, call_id: str | None) -> Iterator[Any]:
    with tracing.span(
        f"execute_tool {name}",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
        },
    ) as span:
        yield span
