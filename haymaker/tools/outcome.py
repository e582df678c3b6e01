"""What a tool call gives back, and what a confirm hook answers about an interrupted call."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from haymaker.llm.messages import ToolResult
from haymaker.models import Resource

DEFAULT_MAX_CONTENT_CHARS = 20_000


class ToolError(Exception):
    """Raise it in a tool to answer the model with an error result carrying this message
    (the model may correct itself); any other exception propagates to the caller."""


class ToolDeferred(Exception):
    """Raised by a source's `call` when the call may not run before `retry_at` (a service's
    rate limit, say). Nothing was sent: the runtime waits durably until `retry_at` (a timer,
    not a sleep) and calls again; the call counts neither as started nor as failed. The
    message says why and is safe to log."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class ToolOutcome(BaseModel):
    """The result of one call: `content` is what the model is shown (capped), `full_content`
    keeps the whole text when it was cut (`truncated`), `data` the structured result if
    any, `resources` what the call created (to record with the deployment)."""

    model_config = ConfigDict(frozen=True)

    content: str
    is_error: bool = False
    data: Any = None
    resources: list[Resource] = Field(default_factory=list)
    truncated: bool = False
    full_content: str | None = None

    @classmethod
    def error(cls, message: str, *, data: Any = None) -> ToolOutcome:
        return cls(content=message, is_error=True, data=data)

    @property
    def text(self) -> str:
        """The whole text, truncated or not."""
        return self.full_content if self.full_content is not None else self.content

    def capped(self, max_chars: int) -> ToolOutcome:
        """This outcome with `content` cut to `max_chars` (plus a note saying so)."""
        if len(self.content) <= max_chars:
            return self
        note = f"\n[truncated: showing {max_chars} of {len(self.content)} characters]"
        return self.model_copy(
            update={
                "content": self.content[:max_chars] + note,
                "truncated": True,
                "full_content": self.text,
            }
        )

    def to_result(self, call_id: str) -> ToolResult:
        """The answer to append to the conversation."""
        return ToolResult(call_id=call_id, content=self.content, is_error=self.is_error)


ConfirmStatus = Literal["done", "not_done", "unknown"]


class Confirmation(BaseModel):
    """A confirm hook's answer for a side-effecting call found started but unconfirmed
    after a crash: `done` (the effect happened; `outcome` is its result), `not_done` (it did
    not: the call may be run again) or `unknown` (a person must decide; `detail` says why)."""

    model_config = ConfigDict(frozen=True)

    status: ConfirmStatus
    outcome: ToolOutcome | None = None
    detail: str = ""

    @classmethod
    def done(cls, outcome: ToolOutcome | str, detail: str = "") -> Confirmation:
        if isinstance(outcome, str):
            outcome = ToolOutcome(content=outcome)
        return cls(status="done", outcome=outcome, detail=detail)

    @classmethod
    def not_done(cls, detail: str = "") -> Confirmation:
        return cls(status="not_done", detail=detail)

    @classmethod
    def unknown(cls, detail: str) -> Confirmation:
        return cls(status="unknown", detail=detail)
