"""Every model the HTTP API reads or sends, each under one name: the API's own bodies are
defined here, the domain's bodies and the parameter types are re-exported. Declarations name
them (handler annotations, `Response("DeploymentList", ...)`) instead of importing them, and
api.operation resolves the names here on first use: importing the app loads none of this."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.parameters import (
    ApprovalKey,
    ApprovalQuery,
    CleanupQuery,
    Continuation,
    DeploymentApprovalQuery,
    DeploymentId,
    DeploymentQuery,
    EventQuery,
    LogQuery,
    PageQuery,
    PageSize,
    ResourceQuery,
    ScheduleDeleteQuery,
    ScheduleId,
    ScheduleQuery,
    ServiceAddQuery,
    ServiceName,
    ServiceQuery,
    StepQuery,
    SubscriptionId,
    TranscriptQuery,
    WorkloadName,
)
from haymaker.agents.transcript import TranscriptEntry
from haymaker.approvals import Approval, DecisionRequest
from haymaker.events.subscriptions import DeadLetter, Delivery, Subscription, SubscriptionSpec
from haymaker.integrations.models import ServiceSpec, ServiceView
from haymaker.models import (
    DeploymentConfig,
    DeploymentState,
    DeploymentStatus,
    LogEntry,
    Resource,
    StepMark,
)
from haymaker.schedules.models import ScheduleSpec, ScheduleState, ScheduleUpdate
from haymaker.timeline import Wait
from haymaker.workloads.manifest import WorkloadManifest

__all__ = [
    "Approval",
    "ApprovalKey",
    "ApprovalList",
    "ApprovalQuery",
    "Caller",
    "CleanupPreview",
    "CleanupQuery",
    "CloudEvent",
    "Continuation",
    "DeadLetter",
    "DeadLetterPage",
    "DecisionRequest",
    "DeployAccepted",
    "DeploymentApprovalQuery",
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
    "ResourcePage",
    "ResourceQuery",
    "ScheduleDeleteQuery",
    "ScheduleDeleted",
    "ScheduleId",
    "ScheduleList",
    "ScheduleQuery",
    "ScheduleSpec",
    "ScheduleUpdate",
    "ScheduleView",
    "ServiceAddQuery",
    "ServiceDeleted",
    "ServiceList",
    "ServiceName",
    "ServiceQuery",
    "ServiceSpec",
    "ServiceView",
    "StepPage",
    "StepQuery",
    "Subscription",
    "SubscriptionDeleted",
    "SubscriptionId",
    "SubscriptionList",
    "SubscriptionSpec",
    "SubscriptionView",
    "TranscriptPage",
    "TranscriptQuery",
    "WorkloadList",
    "WorkloadManifest",
    "WorkloadName",
    "WorkloadSummary",
]


class DeployAccepted(BaseModel):
    deployment_id: str
    status: DeploymentStatus
    status_url: str


class TranscriptPage(BaseModel):
    deployment_id: str
    items: list[TranscriptEntry]
    cursor: int = Field(description="pass as ?after= to get the entries that follow")
    total: int = Field(description="entries in the transcript so far")


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


class StepPage(BaseModel):
    deployment_id: str
    items: list[StepMark]
    waits: list[Wait] = Field(description="what the deployment waited for after these steps")
    cursor: int = Field(description="pass as ?after= to get the steps that follow")


class ResourcePage(BaseModel):
    deployment_id: str
    items: list[Resource]
    continuation: str | None = None


class Caller(BaseModel):
    name: str | None = Field(description="the signed-in principal's name; null without one")
    roles: list[str] = Field(description="app roles held, each one's implied roles included")
    credential: Literal["principal", "function_key", "none"]
    auth_mode: Literal["off", "easyauth"]


class ServiceList(BaseModel):
    items: list[ServiceView]
    continuation: str | None = None


class ServiceDeleted(BaseModel):
    name: str
    deleted: bool = True


class ApprovalList(BaseModel):
    items: list[Approval]
    continuation: str | None = Field(
        default=None, description="pass as ?continuation= to get the next page; null at the end"
    )


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
