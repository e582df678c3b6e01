"""The one small interface workloads use to talk to a language model, and its errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field


class LLMMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


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


class LLMResponse(BaseModel):
    content: str
    model: str | None = None
    usage: LLMUsage = Field(default_factory=LLMUsage)
    stop_reason: str | None = None


class LLMClient(Protocol):
    async def complete(
        self,
        messages: Sequence[LLMMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
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
