"""The one small interface workloads use to talk to a language model, and its errors."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field, field_validator, model_validator

from haymaker.llm.messages import AnyMessage, AssistantMessage, ToolCall
from haymaker.llm.messages import LLMMessage as LLMMessage  # it was defined here first
from haymaker.llm.tools import ToolChoice, ToolSpec


class LLMUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0

    def add(self, other: LLMUsage) -> LLMUsage:
        return LLMUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            calls=self.calls + other.calls,
        )


class StopReason(StrEnum):
    """Why the model stopped, the same on every provider."""

    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    REFUSAL = "refusal"
    OTHER = "other"

    @classmethod
    def of(cls, raw: str) -> StopReason:
        """The normalised reason for a provider's own value (Anthropic's or OpenAI's)."""
        return _RAW_STOP_REASONS.get(raw, cls.OTHER)


_RAW_STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "stop_sequence": StopReason.END_TURN,
    "stop": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "length": StopReason.MAX_TOKENS,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
    "refusal": StopReason.REFUSAL,
    "content_filter": StopReason.REFUSAL,  # the provider's filter withheld the answer
}


class LLMResponse(BaseModel):
    """One model turn. `stop_reason` is normalised; `raw_stop_reason` is the provider's value.
    A provider's value given as `stop_reason` is normalised too (and kept as the raw one)."""

    content: str
    model: str | None = None
    usage: LLMUsage = Field(default_factory=LLMUsage)
    stop_reason: StopReason | None = None
    raw_stop_reason: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    refusal: str | None = None  # the provider's explanation, when it refused and gave one

    @model_validator(mode="before")
    @classmethod
    def _keep_the_raw_reason(cls, data: Any) -> Any:
        reason = data.get("stop_reason") if isinstance(data, dict) else None
        if isinstance(reason, str) and not isinstance(reason, StopReason):
            data = {"raw_stop_reason": reason, **data}
        return data

    @field_validator("stop_reason", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if isinstance(value, str) and not isinstance(value, StopReason):
            return StopReason.of(value)
        return value

    @property
    def message(self) -> AssistantMessage:
        """This turn as a message, to append to the conversation before the tool results."""
        return AssistantMessage(content=self.content, tool_calls=self.tool_calls)


class LLMClient(Protocol):
    async def complete(
        self,
        messages: Sequence[AnyMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> LLMResponse: ...

    async def close(self) -> None: ...


class LLMError(Exception):
    """A model call failed. `retryable` says whether trying again later may succeed: the
    activity lets those propagate (the orchestrator's retry policy runs the step again)."""

    retryable = False


class LLMRateLimited(LLMError):
    retryable = True


class LLMServerError(LLMError):
    retryable = True


class LLMTimeout(LLMError):
    retryable = True


class LLMUnavailable(LLMError):
    """The endpoint could not be reached."""

    retryable = True


class LLMRequestError(LLMError):
    """The provider refused the request (bad model, auth, content): retrying will not help."""


def classify(exc: Exception, status: int | None, *, timeout: bool, connection: bool) -> LLMError:
    """Map an SDK error, after the SDK's own retries, to one of the typed errors above."""
    message = f"{type(exc).__name__}: {exc}"[:500]
    if timeout:
        return LLMTimeout(message)
    if connection:
        return LLMUnavailable(message)
    if status == 429:
        return LLMRateLimited(message)
    if status is not None and status >= 500:
        return LLMServerError(message)
    return LLMRequestError(message)
