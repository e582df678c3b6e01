"""What a tool may know about the call it serves: the deployment, the config values tools
need, a log, the resources it creates and the memory store."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from haymaker.models import LogLevel, Resource
from haymaker.tools.outcome import DEFAULT_MAX_CONTENT_CHARS, ToolError
from haymaker.tools.resources import tool_resource

if TYPE_CHECKING:
    from haymaker.store.memory import MemoryScope, MemoryStore


class ToolLimits(BaseModel):
    """Bounds on what tools do and return; a deployment's config may lower or raise them
    (`tool_limits`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_content_chars: int = Field(default=DEFAULT_MAX_CONTENT_CHARS, ge=100, le=200_000)
    fetch_max_bytes: int = Field(default=1_000_000, ge=1, le=10_000_000)
    fetch_timeout_seconds: float = Field(default=20, gt=0, le=120)
    fetch_max_redirects: int = Field(default=5, ge=0, le=10)


@dataclass
class ToolContext:
    """Passed to a tool that declares a parameter annotated `ToolContext` (that parameter is
    not part of the schema the model sees).

    `allowed_hosts` limits `http_fetch` (empty: any public host). `memory_scope` says whose
    notes the memory tools read and write (see haymaker.store.memory.memory_scope); without
    `memory` and a scope they answer with an error. One context may serve many calls: each
    call works on a copy bound to its tool (`for_tool`) that shares `logs` and `resources`.
    A call's outcome carries the resources it recorded; `resources` also keeps those of a
    call that raised after recording (record them, the thing may exist)."""

    deployment_id: str
    config: Mapping[str, Any] = field(default_factory=dict)
    allowed_hosts: tuple[str, ...] = ()
    limits: ToolLimits = field(default_factory=ToolLimits)
    memory: MemoryStore | None = None
    memory_scope: MemoryScope | None = None
    call_id: str | None = None
    logs: list[tuple[LogLevel, str]] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    tool_name: str | None = None
    source_name: str | None = None
    # Whether the bound tool can delete what it creates (it has a delete hook).
    can_delete: bool = False

    @classmethod
    def from_config(
        cls,
        deployment_id: str,
        config: Mapping[str, Any],
        *,
        memory: MemoryStore | None = None,
        agent_name: str | None = None,
        call_id: str | None = None,
    ) -> ToolContext:
        """A context from an agent's config: `allowed_hosts` (list of host names),
        `tool_limits` (ToolLimits' fields) and `enable_memory` (memory shared by every
        deployment of `agent_name`, else this deployment's own)."""
        from haymaker.store.memory import memory_scope

        return cls(
            deployment_id=deployment_id,
            config=config,
            allowed_hosts=_hosts(config.get("allowed_hosts")),
            limits=ToolLimits.model_validate(config.get("tool_limits") or {}),
            memory=memory,
            memory_scope=memory_scope(
                deployment_id, agent_name, enable_memory=bool(config.get("enable_memory"))
            ),
            call_id=call_id,
        )

    def for_tool(self, tool_name: str, source_name: str, *, can_delete: bool) -> ToolContext:
        """A copy for one call of `tool_name` from `source_name` (same log and resources)."""
        return dataclasses.replace(
            self, tool_name=tool_name, source_name=source_name, can_delete=can_delete
        )

    def log(self, message: str, level: LogLevel = "info") -> None:
        """A line for the deployment's log. Never put secrets (headers, keys) in it."""
        prefix = f"{self.tool_name}: " if self.tool_name else ""
        self.logs.append((level, prefix + message))

    def add_resource(self, kind: str, name: str, **data: Any) -> Resource:
        """Record something this call created outside the platform: it becomes a resource
        of the deployment, and cleanup hands it back to this tool's `delete` hook as
        `Resource(kind, name, data)`. Record it before creating the thing when you can name
        it in advance (a crash in between then leaves a record, not an orphan)."""
        if self.tool_name is None or self.source_name is None:
            raise RuntimeError("add_resource needs a context bound to a tool (for_tool)")
        if not self.can_delete:
            raise RuntimeError(
                f"tool {self.tool_name} records resources but has no delete hook to clean them up"
            )
        resource = tool_resource(self.tool_name, self.source_name, kind, name, data)
        self.resources.append(resource)
        return resource

    def memory_access(self) -> tuple[MemoryStore, MemoryScope]:
        """The store and scope of the memory tools, or a ToolError the model is shown."""
        if self.memory is None or self.memory_scope is None:
            raise ToolError("memory is not available to this agent")
        return self.memory, self.memory_scope


def _hosts(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
