"""Where tools come from. A source lists its tools and runs one by name: the in-process
registry is one, an MCP server or an OpenAPI service will be others. An agent is handed
sources and tool names (a Toolbox) and never cares which source a tool lives in."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from haymaker.llm.messages import ToolCall
from haymaker.llm.tools import ToolSpec
from haymaker.models import Resource
from haymaker.tools.context import ToolContext
from haymaker.tools.outcome import Confirmation, ToolOutcome


class ToolInfo(BaseModel):
    """A tool as a source lists it: what the model is offered, and what the platform must
    know before running it (a side-effecting call goes through the ledger; one that
    requires approval waits for a person)."""

    model_config = ConfigDict(frozen=True)

    spec: ToolSpec
    source: str
    side_effects: bool = False
    requires_approval: bool = False

    @property
    def name(self) -> str:
        return self.spec.name


class ToolSource(ABC):
    """Implement this to offer tools from elsewhere. `call` validates the arguments and
    answers a failure the model can act on (bad arguments, a refused request, a remote
    error) as an error outcome, not an exception; resources a call creates are recorded
    with `ctx.for_tool(...).add_resource` so cleanup can route them back here."""

    name: str

    @abstractmethod
    async def list_tools(self) -> list[ToolInfo]:
        """Every tool this source offers."""

    @abstractmethod
    async def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolContext) -> ToolOutcome:
        """Run tool `name` with `arguments` (the JSON object the model sent)."""

    async def has_tool(self, name: str) -> bool:
        return any(info.name == name for info in await self.list_tools())

    async def confirm(self, name: str, call: ToolCall, ctx: ToolContext) -> Confirmation:
        """Whether an interrupted side-effecting call of `name` took effect. The default
        cannot tell: a person decides."""
        return Confirmation.unknown(f"tool {name} of {self.name} cannot tell whether it ran")

    async def delete_resource(self, name: str, resource: Resource, ctx: ToolContext) -> None:
        """Delete what tool `name` recorded as `resource` (its own kind, name and data)."""
        raise NotImplementedError(f"tool source {self.name} deletes no resources")
