"""Side-effecting test tools: `tally` appends a line per run to the file named by
COUNTER_TOOL_FILE (so a test counts how often it really ran, across host restarts), and
says from that file whether an interrupted call took effect; `make_note` creates a file in
COUNTER_TOOL_DIR and records it for cleanup."""

from __future__ import annotations

import os
import time
from pathlib import Path

from haymaker.llm import ToolCall
from haymaker.models import Resource
from haymaker.tools import Confirmation, ToolContext, tool


def _ledger() -> Path:
    return Path(os.environ["COUNTER_TOOL_FILE"])


def _confirm(call: ToolCall, ctx: ToolContext) -> Confirmation:
    runs = _ledger().read_text().splitlines() if _ledger().exists() else []
    if f"{ctx.deployment_id} {call.id}" in runs:
        return Confirmation.done("counted (confirmed after an interruption)")
    return Confirmation.not_done("no run of this call is on file")


@tool(side_effects=True, confirm=_confirm)
def tally(ctx: ToolContext, pause_seconds: float = 0.0, label: str = "") -> str:
    """Count one run of this call (a side effect the tests count)."""
    with _ledger().open("a") as file:
        file.write(f"{ctx.deployment_id} {ctx.call_id}\n")
    time.sleep(pause_seconds)  # a window for the test to kill the host in
    return "counted"


def _delete_note(resource: Resource, ctx: ToolContext) -> None:
    (Path(os.environ["COUNTER_TOOL_DIR"]) / resource.name).unlink(missing_ok=True)


@tool(side_effects=True, delete=_delete_note)
def make_note(ctx: ToolContext, name: str, text: str) -> str:
    """Write a note file (cleanup deletes it)."""
    ctx.add_resource("note", name)  # recorded before it exists
    (Path(os.environ["COUNTER_TOOL_DIR"]) / name).write_text(text)
    return f"wrote {name}"
