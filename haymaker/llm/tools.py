"""Tools a model may call: their specs, and how the caller steers the model's choice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _no_arguments() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


class ToolSpec(BaseModel):
    """A tool offered to the model: `input_schema` is the JSON schema of its arguments."""

    model_config = ConfigDict(frozen=True)

    # the pattern both Anthropic and OpenAI accept for tool names
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=_no_arguments)

    @field_validator("input_schema")
    @classmethod
    def _an_object(cls, schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("type") != "object":
            raise ValueError('must be the JSON schema of an object ({"type": "object", ...})')
        return schema


ToolMode = Literal["auto", "none", "required"]
# "auto": the model decides; "none": no tool; "required": at least one tool; a ToolSpec: that one.
ToolChoice = ToolMode | ToolSpec


def check_tools(tools: Sequence[ToolSpec], tool_choice: ToolChoice | None) -> None:
    """Refuse tools or a choice that cannot mean anything, before any request is sent."""
    names = {tool.name for tool in tools}
    if len(names) != len(tools):
        raise ValueError("two tools have the same name")
    if tool_choice is not None and not tools:
        raise ValueError("tool_choice needs tools")
    if isinstance(tool_choice, ToolSpec) and tool_choice.name not in names:
        raise ValueError(f"tool_choice names {tool_choice.name!r}, which is not among the tools")
