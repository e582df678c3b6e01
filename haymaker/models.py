"""The deployment contract shared with agent-haymaker: states, configs, reports and log lines."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    computed_field,
)

from haymaker import budgets
from haymaker.approvals import PendingApproval
from haymaker.budgets import Budget, Usage
from haymaker.keys import DEPLOYMENT_ID_PATTERN, WORKLOAD_NAME_PATTERN

MAX_DURATION_HOURS = 24 * 365


class DeploymentStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"
    CLEANING_UP = "cleaning_up"


TERMINAL_STATUSES = frozenset({DeploymentStatus.COMPLETED, DeploymentStatus.FAILED})


class Model(BaseModel):
    # Schemas are built on first use, not at import: the app's cold start stays short.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


MAX_TAGS = 20


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags are allowed")
    for key, value in tags.items():
        if not _TAG_KEY.fullmatch(key):
            raise ValueError(f"tag name {key!r} must be 1-64 of A-Z a-z 0-9 _ . : -")
        if len(value) > 256:
            raise ValueError(f"tag {key!r} is longer than 256 characters")
    return tags


TAG_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_TAG_KEY = re.compile(TAG_KEY_PATTERN)
Tags = Annotated[
    dict[str, str],
    AfterValidator(_check_tags),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_TAGS,
            "propertyNames": {"pattern": TAG_KEY_PATTERN},
            "additionalProperties": {"type": "string", "maxLength": 256},
        }
    ),
]


class DeploymentConfig(Model):
    """What a user asks for when deploying a workload (`workload`/`config` are accepted as the
    short names of `workload_name`/`workload_config`)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "workload": "data-collector",
                    "config": {"item_count": 20, "item_delay_ms": 0},
                    "tags": {"team": "research"},
                }
            ]
        },
    )

    workload_name: str = Field(
        pattern=WORKLOAD_NAME_PATTERN, validation_alias=AliasChoices("workload", "workload_name")
    )
    duration_hours: float | None = Field(default=None, gt=0, le=MAX_DURATION_HOURS)
    tags: Tags = Field(default_factory=dict)
    workload_config: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("config", "workload_config")
    )
    budget: Budget | None = Field(
        default=None, description="limits on what the deployment may use; see docs/operations.md"
    )


class DeploymentState(Model):
    """What a user sees about one deployment."""

    deployment_id: str = Field(pattern=DEPLOYMENT_ID_PATTERN)
    workload_name: str
    status: DeploymentStatus = DeploymentStatus.PENDING
    desired_status: DeploymentStatus = DeploymentStatus.RUNNING
    phase: str = "pending"
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    completed_at: datetime | None = None
    deadline: datetime | None = None
    duration_hours: float | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    tags: Tags = Field(default_factory=dict)
    schedule_id: str | None = None
    budget: Budget | None = None
    usage: Usage = Field(default_factory=Usage)
    awaiting_approval: PendingApproval | None = Field(
        default=None, description="the decision the deployment waits for"
    )
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context of the deploy request: every span of the run joins it",
    )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @computed_field(
        description="what is left of each budget limit but max_wall_hours (null: unknown)"
    )
    @property
    def budget_remaining(self) -> dict[str, float | None]:
        return budgets.remaining(self.budget, self.usage)

    @computed_field(description="when max_wall_hours is reached (once started)")
    @property
    def budget_ends_at(self) -> datetime | None:
        return budgets.ends_at(self.budget, self.started_at)


class CleanupReport(Model):
    deployment_id: str
    resources_deleted: int = 0
    resources_failed: int = 0
    details: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    duration_seconds: float = 0.0

    def merge(self, other: CleanupReport) -> CleanupReport:
        return CleanupReport(
            deployment_id=self.deployment_id,
            resources_deleted=self.resources_deleted + other.resources_deleted,
            resources_failed=self.resources_failed + other.resources_failed,
            details=self.details + other.details,
            errors=self.errors + other.errors,
            duration_seconds=self.duration_seconds + other.duration_seconds,
        )


LogLevel = Literal["debug", "info", "warning", "error"]


class LogEntry(Model):
    """One line of a deployment's log; `line` numbers are dense and start at 0."""

    line: int = Field(ge=0)
    timestamp: datetime
    level: LogLevel = "info"
    message: str


StepOutcome = Literal["done", "phase_complete", "paused", "asked_approval", "completed"]


class StepMark(Model):
    """One durable step of a deployment, for its timeline: when it ran and what it did."""

    step: int = Field(ge=0)
    phase: str
    started_at: datetime
    finished_at: datetime
    outcome: StepOutcome = "done"
    llm_calls: int = 0
    metrics: dict[str, float] = Field(
        default_factory=dict,
        description="the deployment's numeric metadata after the step (items collected, ...)",
    )


def numeric_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """The numbers among a deployment's metadata (not flags): what a chart can plot."""
    return {
        key: value
        for key, value in metadata.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


class Resource(Model):
    """Something a workload created for a deployment and must delete on cleanup."""

    kind: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"
