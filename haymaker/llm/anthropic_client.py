"""Anthropic's Messages API through the official SDK (imported only when used)."""

from __future__ import annotations

from collections.abc import Sequence

from haymaker.llm.base import LLMError, LLMMessage, LLMResponse, LLMUsage, classify
from haymaker.llm.config import LLMConfig


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
        messages: Sequence[LLMMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        import anthropic

        options = {"system": system} if system else {}
        try:
            message = await self._client.messages.create(
                model=self.config.model,
                messages=[m.model_dump() for m in messages],
                max_tokens=max_tokens or self.config.max_tokens,
                # the 2.x Messages API takes no temperature: the model decides its sampling
                **options,
            )
        except anthropic.APIError as exc:
            raise _typed(exc) from exc
        text = "".join(
            block.text for block in message.content if getattr(block, "type", "") == "text"
        )
        usage = message.usage
        return LLMResponse(
            content=text,
            model=message.model,
            usage=LLMUsage(
                input_tokens=getattr(usage, "input_tokens", 0) or 0,
                output_tokens=getattr(usage, "output_tokens", 0) or 0,
                calls=1,
            ),
            stop_reason=message.stop_reason,
        )

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
