"""Every model the HTTP API reads or sends, each under one name: the API's own bodies are
defined here, the domain's bodies and the parameter types are re-exported. Declarations name
them (handler annotations, `Response("DeploymentList", ...)`) instead of importing them, and
api.operation resolves the names here on first use: importing the app loads none of this."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.parameters import (
    CleanupQuery,
    Continuation,
    DeploymentId,
    DeploymentQuery,
    EventQuery,
    LogQuery,
    PageQuery,
    PageSize,
    ScheduleDeleteQuery,
    ScheduleId,
    ScheduleQuery,
    SubscriptionId,
    WorkloadName,
)
from haymaker.events.subscriptions import DeadLetter, Delivery, Subscription, SubscriptionSpec
from haymaker.models import (
    DeploymentConfig,
    DeploymentState,
    DeploymentStatus,
    LogEntry,
    Resource,
)
from haymaker.schedules.models import ScheduleSpec, ScheduleState, ScheduleUpdate
from haymaker.workloads.manifest import WorkloadManifest

__all__ = [
    "CleanupPreview",
    "CleanupQuery",
    "CloudEvent",
    "Continuation",
    "DeadLetter",
    "DeadLetterPage",
    "DeployAccepted",
    "DeploymentConfig",
    "DeploymentId",
    "DeploymentList",
    "DeploymentQuery",
    "DeploymentState",
    "EventPage",
    "EventQuery",
    "Health",
    "LogPage",
    "LogQuery",
    "Metrics",
    "PageQuery",
    "PageSize",
    "Problem",
    "Purged",
    "ScheduleDeleteQuery",
    "ScheduleDeleted",
    "ScheduleId",
    "ScheduleList",
    "ScheduleQuery",
    "ScheduleSpec",
    "ScheduleUpdate",
    "ScheduleView",
    "Subscription",
    "SubscriptionDeleted",
    "SubscriptionId",
    "SubscriptionList",
    "SubscriptionSpec",
    "SubscriptionView",
    "WorkloadList",
    "WorkloadManifest",
    "WorkloadName",
    "WorkloadSummary",
]


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
    settings: str = Field(default="ok", description="ok, or the malformed setting and why")


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


class CloudEvent(BaseModel):
    """A lifecycle event: CloudEvents 1.0, structured JSON (docs/events.md)."""

    model_config = ConfigDict(extra="allow")

    specversion: str
    id: str = Field(description="unique: a receiver drops an id it has seen")
    source: str
    type: str
    subject: str | None = Field(default=None, description="the deployment (or schedule) id")
    time: datetime | None = None
    datacontenttype: str | None = None
    sequence: str | None = Field(default=None, description="orders a subject's events")
    traceparent: str | None = Field(default=None, description="the deployment's trace")
    data: dict[str, Any] = Field(default_factory=dict)


class EventPage(BaseModel):
    items: list[CloudEvent]
    cursor: int = Field(description="pass as ?after= to get the events that follow")


class SubscriptionView(Subscription):
    delivery: Delivery = Field(description="how far delivery has come, and its last failure")
    lag: int = Field(description="events in the feed not yet dealt with")


class SubscriptionList(BaseModel):
    items: list[SubscriptionView]
    continuation: str | None = None


class SubscriptionDeleted(BaseModel):
    subscription_id: str
    deleted: bool = True


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    continuation: str | None = None
