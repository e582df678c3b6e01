"""The workload contract, shaped for durable execution.

A workload declares its phases in `workload.yaml` and runs one *bounded* step of the current
phase per call. The platform keeps everything between steps (cursor, metadata, logs and the
resources created), so a step must not keep state in memory: a step may be re-run after a
crash and the next one may run on another machine.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field

from haymaker.approvals import ApprovalRequest, Decision
from haymaker.budgets import LLMAllowance, Usage
from haymaker.models import LogLevel, Resource
from haymaker.workloads.manifest import WorkloadManifest

if TYPE_CHECKING:
    from haymaker.llm.prices import PriceTable
    from haymaker.settings import Settings
    from haymaker.store import Stores


class StepResult(BaseModel):
    """What a step returns. `cursor` is handed to the next step of the same phase."""

    cursor: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    phase_complete: bool = False
    # Run the next step not before this time: the orchestration waits on a durable timer
    # (no sleeping in activities), and stop/start/cleanup still wake it.
    resume_at: datetime | None = None
    # Ask a person first: the next step runs once someone decides (or the request times
    # out), and sees the decision as ctx.approval(key).
    approval: ApprovalRequest | None = None


@dataclass
class StepContext:
    """The inputs of one step and the collector of its side outputs."""

    deployment_id: str
    phase: str
    config: dict[str, Any]
    cursor: dict[str, Any]
    metadata: dict[str, Any]
    now: datetime
    logs: list[tuple[LogLevel, str]] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    # Makes the host's LLM client; called only if the step asks for one (ctx.llm()).
    llm_factory: Callable[..., Any] | None = None
    # Decisions made since the last step, by approval key.
    decisions: dict[str, Decision] = field(default_factory=dict)
    # What the deployment's budget leaves for this step's model calls, and their prices.
    llm_allowance: LLMAllowance | None = None
    prices: PriceTable | None = None
    # The platform's stores, for workloads that keep state of their own beside the cursor
    # (the LLM agent's transcript and tool ledger); None where a step runs without storage.
    stores: Stores | None = None
    settings: Settings | None = None
    # Usage to count that this step's own model calls do not show (a model answer recorded
    # by an earlier, interrupted run of the step and reused instead of asked again).
    extra_usage: Usage = field(default_factory=Usage)
    _metered: Any = None

    def log(self, message: str, level: LogLevel = "info") -> None:
        self.logs.append((level, message))

    def llm(self, model: str | None = None) -> Any:
        """The host's LLM client (haymaker.llm), metered for this step's usage; `model`
        overrides the configured model (one model per step)."""
        if self._metered is None:
            from haymaker.llm import LLMConfigError, MeteredClient

            if self.llm_factory is None:
                raise WorkloadError("no LLM client is available to this step")
            try:
                client = self.llm_factory(model) if model else self.llm_factory()
            except LLMConfigError as exc:
                raise WorkloadError(f"the LLM is not configured: {exc}") from None
            self._metered = MeteredClient(client, allowance=self.llm_allowance, prices=self.prices)
        return self._metered

    def approval(self, key: str) -> Decision | None:
        """The decision on the approval `key`, in the first step after it was made."""
        return self.decisions.get(key)

    @property
    def llm_usage(self) -> Usage | None:
        """What this step's model calls used, with `extra_usage` (None: nothing)."""
        used = self.extra_usage if self._metered is None else self._metered.as_usage()
        if self._metered is not None:
            used = used.plus(self.extra_usage)
        return used if used != Usage() else None

    def add_resource(self, kind: str, name: str, **data: Any) -> Resource:
        resource = Resource(kind=kind, name=name, data=data)
        self.resources.append(resource)
        return resource


@dataclass
class CleanupContext:
    deployment_id: str
    config: dict[str, Any]
    logs: list[tuple[LogLevel, str]] = field(default_factory=list)
    stores: Stores | None = None
    settings: Settings | None = None

    def log(self, message: str, level: LogLevel = "info") -> None:
        self.logs.append((level, message))


class WorkloadError(Exception):
    """A failure that retrying cannot fix (bad data, a refused request): the deployment fails."""


class Workload(ABC):
    """Subclass this, put a `workload.yaml` beside the module, and register an entry point."""

    manifest_file: ClassVar[str] = "workload.yaml"
    # Whether its resources live outside the platform (then they must be cleaned up, not just
    # forgotten, before a finished deployment may be purged).
    external_resources: ClassVar[bool] = True

    @classmethod
    def manifest(cls) -> WorkloadManifest:
        return _load_manifest(cls)

    @classmethod  # noqa: B027 - an optional hook: most workloads need no check beyond the schema
    def check_config(cls, config: dict[str, Any]) -> None:
        """Checks the schema cannot express (one key against another); raise ConfigError."""

    @classmethod
    def needs_llm(cls, config: dict[str, Any]) -> bool:
        """Whether a deployment with this (validated) config calls a model: a deploy is
        refused when none is configured. The default follows an `enable_llm` key."""
        return bool(config.get("enable_llm"))

    @property
    def name(self) -> str:
        return self.manifest().name

    @property
    def phases(self) -> list[str]:
        return self.manifest().phases

    @abstractmethod
    async def run_step(self, ctx: StepContext) -> StepResult:
        """Do a bounded amount of work in `ctx.phase` (seconds, not minutes)."""

    async def delete_resource(self, resource: Resource, ctx: CleanupContext) -> None:  # noqa: B027
        """Delete what `resource` stands for outside the platform. The default has nothing to
        delete: the platform removes its own record of the resource afterwards."""


def _beside(module: ModuleType, name: str) -> Traversable | Path | None:
    """`name` in the directory of `module`: a package's resource, or for a top-level module (a
    test file, a script) the file beside it."""
    if module.__package__:
        return resources.files(module.__package__) / name
    file = getattr(module, "__file__", None)
    return Path(file).parent / name if file else None


@cache
def _load_manifest(cls: type[Workload]) -> WorkloadManifest:
    """The manifest beside the class's module, or beside the nearest base class's."""
    for klass in cls.__mro__:
        if not (isinstance(klass, type) and issubclass(klass, Workload)) or klass is Workload:
            continue
        path = _beside(sys.modules[klass.__module__], cls.manifest_file)
        if path is not None and path.is_file():
            break
    else:
        raise ValueError(f"{cls.__qualname__} has no {cls.manifest_file} beside its module")
    manifest = WorkloadManifest.from_yaml(path.read_text(encoding="utf-8"), str(path))
    if not manifest.phases:
        raise ValueError(f"{path}: a workload must declare its phases")
    return manifest
