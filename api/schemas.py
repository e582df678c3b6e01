"""Bodies of the HTTP API that are not domain models themselves (they feed the OpenAPI document)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from haymaker.models import DeploymentState, DeploymentStatus, LogEntry, Resource
from haymaker.schedules.models import ScheduleState


class DeployAccepted(BaseModel):
    deployment_id: str
    status: DeploymentStatus
    status_url: str


class DeploymentList(BaseModel):
    items: list[DeploymentState]
    continuation: str | None = Field(
        default=None, description="pass as ?continuation= to get the next page; null at the end"
    )


class LogPage(BaseModel):
    deployment_id: str
    items: list[LogEntry]
    cursor: int = Field(description="pass as ?after= to get the lines that follow")
    total: int = Field(description="lines in the log so far")


class CleanupPreview(BaseModel):
    deployment_id: str
    dry_run: bool = True
    would_delete: list[Resource]
    continuation: str | None = None


class WorkloadSummary(BaseModel):
    name: str
    version: str
    description: str
    phases: list[str]


class WorkloadList(BaseModel):
    items: list[WorkloadSummary]


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class Health(BaseModel):
    status: str
    version: str
    storage: str


class ScheduleView(ScheduleState):
    next_slots: list[datetime] = Field(description="the next five fire times, UTC")


class ScheduleList(BaseModel):
    items: list[ScheduleState]
    continuation: str | None = None


class ScheduleDeleted(BaseModel):
    schedule_id: str
    deleted: bool = True
    stopped: list[str] = Field(default_factory=list, description="runs asked to stop")


class Purged(BaseModel):
    deployment_id: str
    log_lines: int
    resource_records: int


class Metrics(BaseModel):
    deployments: dict[str, Any]
    schedules: dict[str, int]
