"""Anthropic's Messages API through the official SDK (imported only when used)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haymaker.llm import anthropic_wire as wire
from haymaker.llm.base import LLMError, LLMResponse, classify
from haymaker.llm.config import LLMConfig
from haymaker.llm.messages import AnyMessage
from haymaker.llm.tools import ToolChoice, ToolSpec, check_tools
from haymaker.tracing import genai


class AnthropicClient:
    def __init__(self, config: LLMConfig) -> None:
        from anthropic import AsyncAnthropic

        assert config.api_key is not None
        self.config = config
        self._client = AsyncAnthropic(
            api_key=config.api_key.get_secret_value(),
            base_url=config.endpoint,
            timeout=config.timeout,
            max_retries=config.max_retries,
        )

    async def complete(
        self,
        messages: Sequence[AnyMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> LLMResponse:
        import anthropic

        check_tools(tools, tool_choice)
        # parameters left out are not sent at all: a plain call is what it always was
        options: dict[str, Any] = {"system": system} if system else {}
        if tools:
            options["tools"] = wire.tools_param(tools)
        if tool_choice is not None:
            options["tool_choice"] = wire.tool_choice_param(tool_choice)
        limit = max_tokens or self.config.max_tokens
        with genai.chat_span(self.config.provider.value, self.config.model, limit) as span:
            try:
                message = await self._client.messages.create(
                    model=self.config.model,
                    messages=wire.messages_param(messages),
                    max_tokens=limit,
                    # the 2.x Messages API takes no temperature: the model decides its sampling
                    **options,
                )
            except anthropic.APIError as exc:
                raise _typed(exc) from exc
            response = wire.response(message)
            genai.record_response(span, response)
        return response

    async def close(self) -> None:
        await self._client.close()


def _typed(exc: Exception) -> LLMError:
    import anthropic

    return classify(
        exc,
        getattr(exc, "status_code", None),
        timeout=isinstance(exc, anthropic.APITimeoutError),
        connection=isinstance(exc, anthropic.APIConnectionError),
    )
