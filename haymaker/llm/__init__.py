"""Language models for workloads, through the official anthropic and openai SDKs.

Nothing here imports an SDK until a client is created, so workloads that do not use a model
(and the app's cold start) never load one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence

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
    "get_llm_client",
    "override_llm_client",
]


def create_llm_client(config: LLMConfig, token_provider=None) -> LLMClient:  # type: ignore[no-untyped-def]
    if config.provider is Provider.ANTHROPIC:
        from haymaker.llm.anthropic_client import AnthropicClient

        return AnthropicClient(config)
    from haymaker.llm.openai_client import OpenAIChatClient

    return OpenAIChatClient(config, token_provider)


# The SDKs' async HTTP clients belong to the event loop that created them.
_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LLMClient] = (
    weakref.WeakKeyDictionary()
)


LLMFactory = Callable[[], LLMClient]
# Replaces the environment's client for the whole process: haymaker.testing's harness
# answers the real activities' model calls with a stub through it.
_factory_override: LLMFactory | None = None


def override_llm_client(factory: LLMFactory | None) -> LLMFactory | None:
    """Make `get_llm_client()` call `factory` (None: back to the environment's client).
    Returns the override it replaces, for the caller to restore."""
    global _factory_override
    previous, _factory_override = _factory_override, factory
    return previous


def get_llm_client() -> LLMClient:
    """The client the activities' steps use: an override's, else the environment's."""
    if _factory_override is not None:
        return _factory_override()
    return environment_llm_client()


def environment_llm_client() -> LLMClient:
    """The client configured by the environment, one per event loop."""
    loop = asyncio.get_running_loop()
    client = _per_loop.get(loop)
    if client is None:
        client = _per_loop[loop] = create_llm_client(LLMConfig.from_env())
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
