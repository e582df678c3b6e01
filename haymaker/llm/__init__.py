"""Language models for workloads, through the official anthropic and openai SDKs.

Nothing here imports an SDK until a client is created, so workloads that do not use a model
(and the app's cold start) never load one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from haymaker.llm.base import (
    LLMClient,
    LLMError,
    LLMMessage,
    LLMRateLimited,
    LLMRequestError,
    LLMResponse,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
    LLMUsage,
)
from haymaker.llm.config import LLMConfig, LLMConfigError, Provider

__all__ = [
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
    "MeteredClient",
    "Provider",
    "create_llm_client",
    "environment_llm_client",
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
        messages: Sequence[LLMMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        response = await self._client.complete(messages, system=system, max_tokens=max_tokens)
        self.usage = self.usage.add(response.usage)
        return response

    async def close(self) -> None:
        await self._client.close()
