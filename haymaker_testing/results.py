"""What an in-process run leaves behind: its steps, merged metadata, logs and resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from haymaker.cleanup import delete_resources
from haymaker.models import CleanupReport, LogLevel, Resource
from haymaker.workloads.base import CleanupContext, StepResult, Workload

LogLine = tuple[LogLevel, str]


@dataclass
class StepRecord:
    """One step as the platform would record it. `index` is the deployment's step number."""

    index: int
    phase: str
    result: StepResult
    log_entries: list[LogLine]
    resources: list[Resource]
    llm_usage: dict[str, int] | None = None
    attempts: int = 1  # more than 1: earlier attempts raised and were retried

    @property
    def logs(self) -> list[str]:
        return [message for _, message in self.log_entries]


@dataclass
class WorkloadRun:
    workload: type[Workload]
    deployment_id: str
    config: dict[str, Any]
    status: str  # "completed" | "failed"
    phase: str  # "completed", or the phase that failed
    metadata: dict[str, Any]
    steps: list[StepRecord]
    resources: list[Resource]  # one per kind:name, as the resources table keeps them
    log_entries: list[LogLine] = field(default_factory=list)  # the workload's own lines
    error: str | None = None
    exception: BaseException | None = None

    @property
    def logs(self) -> list[str]:
        return [message for _, message in self.log_entries]

    async def cleanup(self) -> CleanupReport:
        """Delete every resource through the workload, as the platform's cleanup does; the
        deleted ones leave `resources`, the cleanup's log lines join the logs."""
        ctx = CleanupContext(deployment_id=self.deployment_id, config=self.config)
        deleted, report = await delete_resources(self.workload(), list(self.resources), ctx)
        gone = {resource.key for resource in deleted}
        self.resources = [resource for resource in self.resources if resource.key not in gone]
        self.log_entries.extend(ctx.logs)
        return report
