"""What every registered service's tool source does around a call, whatever the service
speaks (MCP or HTTP described by OpenAPI): refuse an unknown tool or arguments that do not
fit its schema, get the service's credentials, count the call against the service's rate
limit (ToolDeferred when it is used up: nothing is sent), then let the source send it, and
cap what the model is shown."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from haymaker.integrations.access import ServiceAccess, failure_outcome
from haymaker.integrations.arguments import argument_problems
from haymaker.integrations.credentials import CredentialError, RequestAuth
from haymaker.integrations.models import ApprovalRule, ServiceSpec
from haymaker.llm.messages import ToolCall
from haymaker.tools.context import ToolContext
from haymaker.tools.outcome import Confirmation, ToolOutcome
from haymaker.tools.source import ToolInfo, ToolSource


def needs_approval(rule: ApprovalRule, side_effects: bool) -> bool:
    return rule == "all" or (rule == "side_effects" and side_effects)


class ServiceToolSource(ToolSource):
    kind: str  # how messages name the service: "MCP server", "service"

    def __init__(self, spec: ServiceSpec, access: ServiceAccess) -> None:
        self.spec = spec
        self.name = spec.name
        self._access = access
        self._infos: dict[str, ToolInfo] = {}

    async def list_tools(self) -> list[ToolInfo]:
        return list(self._infos.values())

    async def has_tool(self, name: str) -> bool:
        return name in self._infos

    async def call(self, name: str, arguments: Mapping[str, Any], ctx: ToolContext) -> ToolOutcome:
        info = self._infos.get(name)
        if info is None:
            return ToolOutcome.error(
                f"{self.name} has no tool {name!r} (it has: {', '.join(self._infos)})"
            )
        problems = argument_problems(info.spec.input_schema, arguments) or self._refused(
            name, arguments
        )
        if problems:
            return ToolOutcome.error(f"invalid arguments for {name}: {problems}")
        bound = ctx.for_tool(name, self.name, can_delete=False)
        try:
            auth = await self._access.credentials.for_service(self.spec)
        except CredentialError as exc:
            bound.log(str(exc), "warning")
            return failure_outcome(
                str(exc), "credentials", sent=False, side_effects=info.side_effects, transient=False
            )
        await self._access.admit(self.spec)  # ToolDeferred when the rate limit is used up
        outcome = await self._send(name, dict(arguments), auth, info, bound)
        return outcome.capped(ctx.limits.max_content_chars)

    async def confirm(self, name: str, call: ToolCall, ctx: ToolContext) -> Confirmation:
        info = self._infos.get(name)
        if info is not None and not info.side_effects:
            return Confirmation.not_done(f"{name} has no side effects: safe to run again")
        return Confirmation.unknown(
            f"{self.kind} {self.name} cannot tell whether a call of {name} took effect"
        )

    def _refused(self, name: str, arguments: Mapping[str, Any]) -> str | None:
        """A source's own check of the arguments beyond the schema (None: fine)."""
        return None

    @abstractmethod
    async def _send(
        self,
        name: str,
        arguments: dict[str, Any],
        auth: RequestAuth,
        info: ToolInfo,
        ctx: ToolContext,
    ) -> ToolOutcome:
        """Send the call (its credentials and rate limit already dealt with)."""
