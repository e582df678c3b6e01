"""Language models for workloads, through the official anthropic and openai SDKs.

Nothing here imports an SDK until a client is created, so workloads that do not use a model
(and the app's cold start) never load one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from haymaker.budgets import LLMAllowance, Usage
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

if TYPE_CHECKING:
    from haymaker.llm.prices import PriceTable

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
    """Counts what every call uses (tokens, calls, cost by `prices`), for the deployment's
    usage, and keeps calls within `allowance`: a call gets at most the tokens left, and none
    is made when nothing is left (BudgetExhaustedError)."""

    def __init__(
        self,
        client: LLMClient,
        *,
        allowance: LLMAllowance | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self._client = client
        self._allowance = allowance or LLMAllowance()
        self._prices = prices
        self.usage = LLMUsage()
        self.cost_usd: float | None = 0.0

    async def complete(
        self,
        messages: Sequence[AnyMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> LLMResponse:
        tokens_left = self._allowance.check(self.as_usage())
        if tokens_left is not None:
            max_tokens = min(max_tokens or tokens_left, tokens_left)
        # tool options only when given: clients written for plain calls keep working
        options: dict[str, Any] = {"tools": tools} if tools else {}
        if tool_choice is not None:
            options["tool_choice"] = tool_choice
        response = await self._client.complete(
            messages, system=system, max_tokens=max_tokens, **options
        )
        # One call, whatever the client says: max_llm_calls must not depend on its counting.
        self.usage = self.usage.add(response.usage.model_copy(update={"calls": 1}))
        cost = self._cost(response)
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost
        return response

    def _cost(self, response: LLMResponse) -> float | None:
        if self._prices is None:
            return None
        usage = response.usage
        return self._prices.cost(response.model, usage.input_tokens, usage.output_tokens)

    def as_usage(self) -> Usage:
        return Usage(
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            llm_calls=self.usage.calls,
            cost_usd=self.cost_usd,
        )

    async def close(self) -> None:
        await self._client.close()
