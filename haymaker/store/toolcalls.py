"""The tool-call ledger: PartitionKey = deployment id, RowKey = `<turn>-<call id digest>`,
one row per tool call an agent's model asked for. The model turn records each call
`requested` (with its arguments as sent: the transcript shows them with secrets masked);
the call's own step marks it `started` before the tool runs and `done` (with its outcome)
after. So a step re-run after a crash finds the outcome instead of running the tool again,
and a side-effecting call found started but not done is never repeated blindly.

The ledger is platform-internal: no API serves it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from pydantic import BaseModel, ConfigDict, Field

from haymaker import keys
from haymaker.store.tables import Tables, delete_partition
from haymaker.tools.outcome import ToolOutcome

TABLE = "toolcalls"
MAX_OUTCOME_CHARS = 20_000
MAX_ROW_CHARS = 31_000  # one Table string property


class ToolCallTooLargeError(ValueError):
    """The model's arguments are too large to record (the call is answered with an error)."""


class CallStatus(StrEnum):
    REQUESTED = "requested"
    STARTED = "started"
    DONE = "done"


def arguments_digest(arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class LedgerRow(BaseModel):
    model_config = ConfigDict(defer_build=True)

    turn: int
    call_id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_error: str | None = None
    status: CallStatus = CallStatus.REQUESTED
    side_effects: bool = False
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: ToolOutcome | None = None

    @property
    def signature(self) -> str:
        """The call's tool and arguments, for spotting a call repeated verbatim."""
        return f"{self.tool}:{arguments_digest(self.arguments)}"


def row_key(turn: int, call_id: str) -> str:
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:16]
    return f"{turn:06d}-{digest}"


def _stored_outcome(outcome: ToolOutcome) -> ToolOutcome:
    """What the ledger keeps of an outcome: bounded (the transcript has the full text)."""
    return outcome.model_copy(
        update={
            "full_content": None,
            "resources": [],
            "content": outcome.content[:MAX_OUTCOME_CHARS],
        }
    )


class ToolLedger:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, deployment_id: str, turn: int, call_id: str) -> LedgerRow | None:
        keys.deployment_id(deployment_id)
        table = await self._tables.get(TABLE)
        try:
            entity = await table.get_entity(deployment_id, row_key(turn, call_id))
        except ResourceNotFoundError:
            return None
        return LedgerRow.model_validate_json(entity["row"])

    async def request(self, deployment_id: str, rows: list[LedgerRow]) -> None:
        """Record the calls one model turn asked for (rewriting an interrupted run's); each
        row stands alone, so they are written at once."""
        await asyncio.gather(*(self._put(deployment_id, row) for row in rows))

    async def start(self, deployment_id: str, row: LedgerRow, now: datetime) -> LedgerRow:
        started = row.model_copy(update={"status": CallStatus.STARTED, "started_at": now})
        await self._put(deployment_id, started)
        return started

    async def finish(
        self, deployment_id: str, row: LedgerRow, outcome: ToolOutcome, now: datetime
    ) -> LedgerRow:
        done = row.model_copy(
            update={
                "status": CallStatus.DONE,
                "finished_at": now,
                "outcome": _stored_outcome(outcome),
            }
        )
        await self._put(deployment_id, done)
        return done

    async def _put(self, deployment_id: str, row: LedgerRow) -> None:
        keys.deployment_id(deployment_id)
        text = row.model_dump_json()
        if len(text) > MAX_ROW_CHARS:
            raise ToolCallTooLargeError(
                f"tool call {row.call_id} of turn {row.turn} is {len(text)} characters"
            )
        table = await self._tables.get(TABLE)
        entity = {
            "PartitionKey": deployment_id,
            "RowKey": row_key(row.turn, row.call_id),
            "tool": row.tool,
            "status": row.status.value,
            "row": text,
        }
        await table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def delete_all(self, deployment_id: str) -> int:
        keys.deployment_id(deployment_id)
        return await delete_partition(await self._tables.get(TABLE), deployment_id)
