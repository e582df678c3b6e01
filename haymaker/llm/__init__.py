"""Language models for workloads, through the official anthropic and openai SDKs.

Nothing here imports an SDK until a client is created, so workloads that do not use a model
(and the app's cold start) never load one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from haymaker.llm.base import (
    LLMClient,
    LLMError,
    LLMRateLimited,
    LLMRequestError,
    LLMResponse,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
    LLMUsage,
    StopReason,
)
from haymaker.llm.config import LLMConfig, LLMConfigError, Provider
from haymaker.llm.messages import (
    AnyMessage,
    AssistantMessage,
    LLMMessage,
    Message,
    ToolCall,
    ToolResult,
    UserMessage,
    dump_transcript,
    load_transcript,
)
from haymaker.llm.tools import ToolChoice, ToolSpec

__all__ = [
    "AnyMessage",
    "AssistantMessage",
    "LLMClient",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMMessage",
    "LLMRateLimited",
    "LLMRequestError",
    "LLMResponse",
    "LLMServerError",
    "LLMTimeout",
    "LLMUnavailable",
    "LLMUsage",
    "Message",
    "MeteredClient",
    "Provider",
    "StopReason",
    "ToolCall",
    "ToolChoice",
    "ToolResult",
    "ToolSpec",
    "UserMessage",
    "create_llm_client",
    "dump_transcript",
    "environment_llm_client",
    "load_transcript",
]


def create_llm_client(config: LLMConfig, token_provider=None) -> LLMClient:  # type: ignore[no-untyped-def]
    if config.provider is Provider.ANTHROPIC:
        from haymaker.llm.anthropic_client import AnthropicClient

        return AnthropicClient(config)
    from haymaker.llm.openai_client import OpenAIChatClient

    return OpenAIChatClient(config, token_provider)


# The SDKs' async HTTP clients belong to the event loop that created them.
_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[LLMConfig, LLMClient]] = (
    weakref.WeakKeyDictionary()
)


def environment_llm_client(config: LLMConfig | None = None) -> LLMClient:
    """The client for `config` (default: the environment's), one per event loop."""
    config = config or LLMConfig.from_env()
    by_config = _per_loop.setdefault(asyncio.get_running_loop(), {})
    client = by_config.get(config)
    if client is None:
        client = by_config[config] = create_llm_client(config)
    return client


class MeteredClient:
    """Counts the tokens of every call, for the deployment's metadata."""

    def __init__(self, client: LLMClient) -> None:
        self._client = client
        self.usage = LLMUsage()

    async def complete(
        self,
        messages: Sequence[AnyMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> LLMResponse:
        # tool options only when given: clients written for plain calls keep working
        options: dict[str, Any] = {"tools": tools} if tools else {}
        if tool_choice is not None:
            options["tool_choice"] = tool_choice
        response = await self._client.complete(
            messages, system=system, max_tokens=max_tokens, **options
        )
        self.usage = self.usage.add(response.usage)
        return response

    async def close(self) -> None:
        await self._client.close()
