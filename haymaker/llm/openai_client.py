"""Chat completions through the official openai SDK (imported only when used): OpenAI,
Azure OpenAI (key, or Entra ID token) and Azure AI Foundry's OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from haymaker.llm import openai_wire as wire
from haymaker.llm.base import LLMError, LLMResponse, classify
from haymaker.llm.config import LLMConfig, Provider
from haymaker.llm.messages import AnyMessage
from haymaker.llm.tools import ToolChoice, ToolSpec, check_tools
from haymaker.tracing import genai

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
TokenProvider = Callable[[], Awaitable[str]]


def entra_token_provider(credential: Any = None) -> TokenProvider:
    """Bearer tokens for Azure AI services from `credential` (default: DefaultAzureCredential,
    which picks the app's managed identity by AZURE_CLIENT_ID)."""
    from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(
        credential or DefaultAzureCredential(), COGNITIVE_SERVICES_SCOPE
    )


def foundry_base_url(endpoint: str) -> str:
    """Foundry's OpenAI-compatible API lives under /openai/v1 of the resource endpoint."""
    return endpoint if endpoint.endswith("/openai/v1") else f"{endpoint}/openai/v1"


class OpenAIChatClient:
    def __init__(self, config: LLMConfig, token_provider: TokenProvider | None = None) -> None:
        from openai import AsyncAzureOpenAI, AsyncOpenAI

        self.config = config
        key = config.api_key.get_secret_value() if config.api_key else None
        common: dict[str, Any] = {"timeout": config.timeout, "max_retries": config.max_retries}
        if config.provider is Provider.AZURE_OPENAI:
            auth = (
                {"api_key": key}
                if key
                else {"azure_ad_token_provider": token_provider or entra_token_provider()}
            )
            self._client = AsyncAzureOpenAI(
                azure_endpoint=config.endpoint, api_version=config.api_version, **auth, **common
            )
        elif config.provider is Provider.AZURE_AI_FOUNDRY:
            assert config.endpoint is not None
            self._client = AsyncOpenAI(
                base_url=foundry_base_url(config.endpoint),
                api_key=key or token_provider or entra_token_provider(),
                **common,
            )
        else:
            self._client = AsyncOpenAI(api_key=key, base_url=config.endpoint, **common)

    async def complete(
        self,
        messages: Sequence[AnyMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> LLMResponse:
        import openai

        check_tools(tools, tool_choice)
        # parameters left out are not sent at all: a plain call is what it always was
        options: dict[str, Any] = {"tools": wire.tools_param(tools)} if tools else {}
        if tool_choice is not None:
            options["tool_choice"] = wire.tool_choice_param(tool_choice)
        limit = max_tokens or self.config.max_tokens
        with genai.chat_span(self.config.provider.value, self.config.model, limit) as span:
            try:
                completion = await self._client.chat.completions.create(
                    model=self.config.model,
                    messages=wire.messages_param(messages, system),
                    max_tokens=limit,
                    temperature=self.config.temperature,
                    **options,
                )
            except openai.APIError as exc:
                raise _typed(exc) from exc
            response = wire.response(completion)
            genai.record_response(span, response)
        return response

    async def close(self) -> None:
        await self._client.close()


def _typed(exc: Exception) -> LLMError:
    import openai

    return classify(
        exc,
        getattr(exc, "status_code", None),
        timeout=isinstance(exc, openai.APITimeoutError),
        connection=isinstance(exc, openai.APIConnectionError),
    )
