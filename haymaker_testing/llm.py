"""A scripted language model: the `haymaker.llm` client interface, answering from a list or a
function and recording every request."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from haymaker.llm import LLMMessage, LLMRequestError, LLMResponse, LLMUsage

Reply = str | Exception
Responder = Callable[[list[LLMMessage]], Reply]


@dataclass(frozen=True)
class LLMRequest:
    messages: list[LLMMessage]
    system: str | None
    max_tokens: int | None

    @property
    def prompt(self) -> str:
        """The messages' text, one per line."""
        return "\n".join(message.content for message in self.messages)


class LLMStub:
    """Answers each request with the next reply of `replies`, or with `replies(messages)`.

    A reply that is an exception is raised instead (an `LLMRateLimited` to test retries, say).
    Every call counts `input_tokens` and `output_tokens`, so the metered usage is predictable.
    When the list runs out the request is refused with an LLMRequestError, which fails the
    step at once and names the request."""

    def __init__(
        self,
        replies: Iterable[Reply] | Responder = (),
        *,
        model: str = "stub-model",
        input_tokens: int = 10,
        output_tokens: int = 5,
    ) -> None:
        self._responder: Responder | None = replies if callable(replies) else None
        self._replies: deque[Reply] = deque() if callable(replies) else deque(replies)
        self.model = model
        self.usage = LLMUsage(input_tokens=input_tokens, output_tokens=output_tokens, calls=1)
        self.requests: list[LLMRequest] = []

    @property
    def prompts(self) -> list[str]:
        return [request.prompt for request in self.requests]

    async def complete(
        self,
        messages: Sequence[LLMMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse:
        request = LLMRequest(list(messages), system, max_tokens)
        self.requests.append(request)
        reply = self._next(request)
        if isinstance(reply, Exception):
            raise reply
        return LLMResponse(content=reply, model=self.model, usage=self.usage, stop_reason="stop")

    def _next(self, request: LLMRequest) -> Reply:
        if self._responder is not None:
            return self._responder(request.messages)
        if not self._replies:
            raise LLMRequestError(
                f"LLMStub has no reply left for request {len(self.requests)}: "
                f"{request.prompt[:200]!r}"
            )
        return self._replies.popleft()

    async def close(self) -> None:
        pass
