"""A scripted language model: the `haymaker.llm` client interface, answering from a list or a
function and recording every request. Replies may be text, a full `LLMResponse`, tool calls
(`tool_call(...)`, `tool_calls(...)`), or an exception to raise.

It is strict where the real APIs are: a request that leaves an earlier tool call without its
result, or a scripted call of a tool the request did not offer, is refused as the providers
refuse it, so a broken agent loop fails in tests as it would in Azure."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from haymaker.llm import (
    AnyMessage,
    AssistantMessage,
    LLMRequestError,
    LLMResponse,
    LLMUsage,
    StopReason,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
    dump_transcript,
    load_transcript,
)

Reply = str | LLMResponse | Exception
_ids = itertools.count(1)


@dataclass(frozen=True)
class LLMRequest:
    messages: list[AnyMessage]
    system: str | None
    max_tokens: int | None
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: ToolChoice | None = None

    @property
    def prompt(self) -> str:
        """The messages' text, one per line."""
        return "\n".join(message.content for message in self.messages)

    @property
    def tool_names(self) -> list[str]:
        return [spec.name for spec in self.tools]

    @property
    def last(self) -> AnyMessage | None:
        return self.messages[-1] if self.messages else None


Responder = Callable[[list[AnyMessage]], Reply]  # given the request's messages
RequestResponder = Callable[[LLMRequest], Reply]  # given the whole request (tools too)


def tool_call(
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    text: str = "",
    call_id: str | None = None,
) -> LLMResponse:
    """A reply asking for one tool call (ids `call_1`, `call_2`, ... unless given)."""
    return tool_calls((name, arguments or {}, call_id), text=text)


def tool_calls(
    *calls: tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str | None], text: str = ""
) -> LLMResponse:
    """A reply asking for several tool calls at once (parallel calls)."""
    made = []
    for call in calls:
        name, arguments = call[0], call[1]
        given = call[2] if len(call) > 2 else None
        made.append(ToolCall(id=given or f"call_{next(_ids)}", name=name, arguments=arguments))
    return LLMResponse(content=text, tool_calls=made, stop_reason=StopReason.TOOL_USE)


class LLMStub:
    """Answers each request with the next reply of `replies`, with `replies(messages)`, or
    with `respond(request)` (which sees the tools offered and the results sent too).

    A reply that is an exception is raised instead (an `LLMRateLimited` to test retries, say).
    Every call counts `input_tokens` and `output_tokens`, so the metered usage is predictable.
    When the list runs out the request is refused with an LLMRequestError, which fails the
    step at once and names the request."""

    def __init__(
        self,
        replies: Iterable[Reply] | Responder = (),
        *,
        respond: RequestResponder | None = None,
        model: str = "stub-model",
        input_tokens: int = 10,
        output_tokens: int = 5,
    ) -> None:
        if callable(replies):
            messages_responder = replies
            self._responder: RequestResponder | None = lambda request: messages_responder(
                request.messages
            )
        else:
            self._responder = respond
        self._replies: deque[Reply] = deque() if callable(replies) else deque(replies)
        self.model = model
        self.usage = LLMUsage(input_tokens=input_tokens, output_tokens=output_tokens, calls=1)
        self.requests: list[LLMRequest] = []

    @property
    def prompts(self) -> list[str]:
        return [request.prompt for request in self.requests]

    async def complete(
        self,
        messages: Sequence[AnyMessage],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
    ) -> LLMResponse:
        request = LLMRequest(list(messages), system, max_tokens, list(tools), tool_choice)
        self.requests.append(request)
        _check_conversation(request)
        reply = self._next(request)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            return LLMResponse(
                content=reply, model=self.model, usage=self.usage, stop_reason="stop"
            )
        _check_calls(reply, request)
        return reply.model_copy(update={"model": reply.model or self.model, "usage": self.usage})

    def _next(self, request: LLMRequest) -> Reply:
        if self._responder is not None:
            return self._responder(request)
        if not self._replies:
            raise LLMRequestError(
                f"LLMStub has no reply left for request {len(self.requests)}: "
                f"{request.prompt[:200]!r}"
            )
        return self._replies.popleft()

    async def close(self) -> None:
        pass


def _check_conversation(request: LLMRequest) -> None:
    """What the providers refuse: a tool call left without its result before the next
    turn, a result for no call; and messages that do not survive a transcript."""
    load_transcript(dump_transcript(request.messages))
    open_calls: set[str] = set()
    for message in request.messages:
        if isinstance(message, AssistantMessage):
            if open_calls:
                raise LLMRequestError(f"tool calls {sorted(open_calls)} have no result")
            open_calls = {call.id for call in message.tool_calls}
        elif isinstance(message, ToolResult):
            if message.call_id not in open_calls:
                raise LLMRequestError(f"a tool result answers no open call: {message.call_id}")
            open_calls.discard(message.call_id)
        elif open_calls:
            raise LLMRequestError(f"tool calls {sorted(open_calls)} have no result")
    if open_calls:
        raise LLMRequestError(f"tool calls {sorted(open_calls)} have no result")


def _check_calls(reply: LLMResponse, request: LLMRequest) -> None:
    offered = set(request.tool_names)
    for call in reply.tool_calls:
        if call.name not in offered:
            raise LLMRequestError(
                f"the scripted reply calls {call.name!r}, which the request did not offer "
                f"(offered: {', '.join(sorted(offered)) or 'none'})"
            )
