"""finish: the agent declares its result. It does nothing itself; the agent runtime sees a
call to it (by name, FINISH_TOOL) and ends the run with its summary and result."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from haymaker.tools.function import tool
from haymaker.tools.outcome import ToolOutcome

FINISH_TOOL = "finish"
MAX_SUMMARY_CHARS = 10_000


@tool(name=FINISH_TOOL)
def finish(
    summary: Annotated[
        str,
        Field(min_length=1, max_length=MAX_SUMMARY_CHARS, description="What was done and found"),
    ],
    result: Annotated[
        dict[str, Any] | None,
        Field(description="The structured result, if the goal asks for one"),
    ] = None,
) -> ToolOutcome:
    """Declare the goal reached (or given up on) and end the run with this summary."""
    return ToolOutcome(content="finished", data={"summary": summary, "result": result})
