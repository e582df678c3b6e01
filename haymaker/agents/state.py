"""What an agent carries from one step to the next (the step's cursor): small, as the
conversation itself lives in the transcript."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PendingCall(BaseModel):
    """A tool call of the last model turn still to be run."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    entry: int = Field(description="transcript index of the assistant turn that asked")


class Finish(BaseModel):
    """What the agent declared with the finish tool."""

    summary: str
    result: Any = None


class AgentCursor(BaseModel):
    turn: int = 0  # model turns taken
    next_index: int = 0  # the transcript index the next entry gets
    pending: list[PendingCall] = Field(default_factory=list)
    idle_turns: int = 0  # turns in a row without a tool call
    repeats: list[str] = Field(default_factory=list)  # the last calls' signatures
    nudged: bool = False  # told once that it looks stuck
    stuck_key: str | None = None  # asked a person whether the stuck agent may go on
    stuck_why: str | None = None
    last_input_tokens: int = 0  # of the last model turn: how full the context is
    summarised_upto: int | None = None  # the last index a summary stands in for
    transcript_id: str | None = None  # when the goal was written: names this transcript's life
    tool_calls: int = 0
    finished: Finish | None = None
    stop_reason: str | None = None  # why act ended: finished, max_turns, stuck, refusal

    @property
    def started(self) -> bool:
        return self.next_index > 0
