"""The tools one agent may use: names picked from its sources, wherever each tool lives."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from haymaker import tracing
from haymaker.errors import ConfigError
from haymaker.llm.messages import ToolCall
from haymaker.llm.tools import ToolSpec
from haymaker.models import Resource
from haymaker.tools.context import ToolContext
from haymaker.tools.outcome import Confirmation, ToolOutcome
from haymaker.tools.resources import delete_tool_resource
from haymaker.tracing import genai

if TYPE_CHECKING:
    from haymaker.tools.source import ToolInfo, ToolSource


class UnknownToolError(ConfigError):
    """A tool name no source offers; the message lists those that exist."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"no tool named {name!r} (known tools: {', '.join(self.known) or 'none'})")


class AmbiguousToolError(ConfigError):
    """Two of an agent's sources offer a tool of the same name."""


class Toolbox:
    """Made with `await Toolbox.open(sources, names)`; offers `specs()` to the model and runs
    its calls (`run`), routing each to the tool's source."""

    def __init__(
        self, tools: Mapping[str, tuple[ToolInfo, ToolSource]], sources: Sequence[ToolSource] = ()
    ) -> None:
        self._tools = dict(tools)
        self._sources = list(sources) or [source for _, source in tools.values()]

    @classmethod
    async def open(
        cls, sources: Sequence[ToolSource], names: Iterable[str] | None = None
    ) -> Toolbox:
        """The tools `names` (default: every tool of every source). UnknownToolError for a
        name no source offers, AmbiguousToolError for one two sources offer."""
        offered: dict[str, list[tuple[ToolInfo, ToolSource]]] = {}
        for source in sources:
            for info in await source.list_tools():
                offered.setdefault(info.name, []).append((info, source))
        chosen: dict[str, tuple[ToolInfo, ToolSource]] = {}
        for name in offered if names is None else names:
            if name not in offered:
                raise UnknownToolError(name, offered)
            found = offered[name]
            if len(found) > 1:
                where = " and ".join(source.name for _, source in found)
                raise AmbiguousToolError(f"tool {name} is offered by both {where}")
            chosen[name] = found[0]
        return cls(chosen, sources)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        """What the model is offered."""
        return [info.spec for info, _ in self._tools.values()]

    def info(self, name: str) -> ToolInfo:
        return self._entry(name)[0]

    async def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolContext) -> ToolOutcome:
        """Run tool `name`. A name the agent was not given is an error outcome naming the
        tools it has (the model may have made it up)."""
        with genai.tool_span(name, ctx.call_id) as span:
            try:
                info, source = self._entry(name)
            except UnknownToolError as exc:
                outcome = ToolOutcome.error(exc.detail)
            else:
                outcome = await source.call(info.name, arguments, ctx)
            if outcome.is_error:
                tracing.mark_error(span, "tool_error")
            return outcome

    async def run(self, call: ToolCall, ctx: ToolContext) -> ToolOutcome:
        """Answer one of the model's calls; arguments that were not a JSON object are an
        error outcome the model can correct itself from."""
        if call.arguments_error is not None:
            return ToolOutcome.error(
                f"the arguments for {call.name} were not a JSON object: {call.arguments_error}"
            )
        return await self.call(call.name, call.arguments, dataclasses.replace(ctx, call_id=call.id))

    async def confirm(self, call: ToolCall, ctx: ToolContext) -> Confirmation:
        """Whether an interrupted side-effecting call took effect (see Confirmation)."""
        info, source = self._entry(call.name)
        return await source.confirm(info.name, call, dataclasses.replace(ctx, call_id=call.id))

    async def delete_resource(self, resource: Resource, ctx: ToolContext) -> bool:
        """Delete `resource` through the tool that created it; False if no tool did."""
        return await delete_tool_resource(resource, self._sources, ctx)

    def _entry(self, name: str) -> tuple[ToolInfo, ToolSource]:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name, self._tools) from None
