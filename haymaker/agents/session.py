"""What one step of an agent works with: the step's context, the agent's config and cursor,
its tools, its transcript and its ledger, and the transcript entries it writes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from haymaker.agents.state import AgentCursor
from haymaker.agents.transcript import TranscriptEntry
from haymaker.approvals import ApprovalRequest
from haymaker.workloads.base import StepContext, StepResult, WorkloadError

if TYPE_CHECKING:
    from haymaker.store.toolcalls import ToolLedger
    from haymaker.store.transcripts import TranscriptStore
    from haymaker.tools import Toolbox, ToolContext


def approval_key(kind: str, turn: int, call_id: str | None = None) -> str:
    """A key unique in the deployment (call ids may hold characters keys may not)."""
    if call_id is None:
        return f"{kind}-{turn}"
    return f"{kind}-{turn}-{hashlib.sha256(call_id.encode()).hexdigest()[:10]}"


@dataclass
class AgentSession:
    ctx: StepContext
    config: dict[str, Any]
    cursor: AgentCursor
    toolbox: Toolbox
    tool_context: ToolContext
    transcript: TranscriptStore
    ledger: ToolLedger
    # Writes that need not come before the next transcript entry: made at the same time.
    with_next_entry: list[Awaitable[Any]] = field(default_factory=list)

    @property
    def deployment_id(self) -> str:
        return self.ctx.deployment_id

    @property
    def now(self) -> datetime:
        return self.ctx.now

    async def append(self, entry: TranscriptEntry) -> None:
        """Write the next entry (a re-run of the step rewrites the same index)."""
        if entry.index != self.cursor.next_index:
            raise WorkloadError(
                f"transcript entry {entry.index} written out of order "
                f"(next is {self.cursor.next_index})"
            )
        writes, self.with_next_entry = self.with_next_entry, []
        await asyncio.gather(self.transcript.put(self.deployment_id, entry), *writes)
        self.cursor.next_index += 1

    def entry(self, role: str, **fields: Any) -> TranscriptEntry:
        return TranscriptEntry(
            index=self.cursor.next_index, turn=self.cursor.turn, role=role, at=self.now, **fields
        )

    def result(self, **fields: Any) -> StepResult:
        """The step's result, the cursor as it now is, and what metadata shows of it."""
        cursor = self.cursor
        metadata = {
            "turns": cursor.turn,
            "tool_calls": cursor.tool_calls,
            "transcript_entries": cursor.next_index,
            "progress": {"done": cursor.turn, "total": self.config["max_turns"], "unit": "turns"},
            **fields.pop("metadata", {}),
        }
        return StepResult(cursor=cursor.model_dump(mode="json"), metadata=metadata, **fields)

    def ask(self, request: ApprovalRequest) -> StepResult:
        """Wait for a person: the same step runs again with the decision."""
        return self.result(approval=request)
