"""The path and query parameters of the HTTP API. Each identifier is one annotated type made
from its core pattern, shared by path parameters, query models and (through the same
patterns) the bodies; each operation's query string is one model of them, and handlers read
query values only through it, so the document, built from these models, lists every one.

Values arrive as strings: query models validate in lax mode ("50" is 50, "true" is true).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from haymaker.approvals import APPROVAL_KEY_PATTERN, ApprovalStatus
from haymaker.events.subscriptions import SUBSCRIPTION_ID_PATTERN
from haymaker.integrations.models import SERVICE_NAME_PATTERN
from haymaker.keys import DEPLOYMENT_ID_PATTERN, SCHEDULE_ID_PATTERN, WORKLOAD_NAME_PATTERN
from haymaker.models import DeploymentStatus
from haymaker.store.logs import MAX_LOG_CURSOR
from haymaker.store.tables import CONTINUATION_PATTERN

DeploymentId = Annotated[str, Field(pattern=DEPLOYMENT_ID_PATTERN, description="deployment id")]
WorkloadName = Annotated[str, Field(pattern=WORKLOAD_NAME_PATTERN, description="workload name")]
ScheduleId = Annotated[str, Field(pattern=SCHEDULE_ID_PATTERN, description="schedule id")]
ServiceName = Annotated[str, Field(pattern=SERVICE_NAME_PATTERN, description="service name")]
ApprovalKey = Annotated[
    str,
    Field(
        pattern=APPROVAL_KEY_PATTERN,
        description="approval key; `budget`: the latest budget one",
        examples=["report", "budget"],
    ),
]
Continuation = Annotated[
    str, Field(pattern=CONTINUATION_PATTERN, description="token from the previous page")
]
PageSize = Annotated[int, Field(ge=1, le=1000, description="page size")]
SubscriptionId = Annotated[
    str, Field(pattern=SUBSCRIPTION_ID_PATTERN, description="webhook subscription id")
]


class Query(BaseModel):
    """Parameters not declared are ignored (the host's own `code`, for one)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class DeploymentQuery(Query):
    workload: WorkloadName | None = Field(default=None, description="only this workload")
    status: DeploymentStatus | None = Field(default=None, description="only this status")
    schedule_id: ScheduleId | None = Field(default=None, description="only runs of this schedule")
    limit: PageSize = 50
    continuation: Continuation | None = None


class LogQuery(Query):
    tail: int | None = Field(default=None, ge=1, le=100_000, description="only the last N lines")
    after: int | None = Field(
        default=None, ge=-1, le=MAX_LOG_CURSOR, description="only lines after this cursor"
    )
    limit: PageSize = Field(default=1000, description="at most this many lines")


class StepQuery(Query):
    after: int | None = Field(
        default=None, ge=-1, le=MAX_LOG_CURSOR, description="only steps after this step"
    )
    limit: PageSize = Field(default=1000, description="at most this many steps")


class ResourceQuery(Query):
    limit: PageSize = Field(default=100, description="page size")
    continuation: Continuation | None = None


class TranscriptQuery(Query):
    after: int | None = Field(
        default=None, ge=-1, le=MAX_LOG_CURSOR, description="only entries after this index"
    )
    limit: int = Field(default=200, ge=1, le=1000, description="at most this many entries")


class CleanupQuery(Query):
    dry_run: bool = Field(default=False, description="only list what would be deleted")
    limit: PageSize = Field(default=1000, description="dry run page size")
    continuation: Continuation | None = None


class ScheduleQuery(Query):
    workload: WorkloadName | None = Field(default=None, description="only this workload")
    enabled: bool | None = Field(default=None, description="only enabled or disabled ones")
    limit: PageSize = 50
    continuation: Continuation | None = None


class ScheduleDeleteQuery(Query):
    stop_runs: bool = Field(default=False, description="stop its active runs too")


class ServiceQuery(Query):
    limit: PageSize = 50
    continuation: Continuation | None = None


class ServiceAddQuery(Query):
    replace: bool = Field(default=False, description="replace a registration of that name")


class ApprovalQuery(Query):
    status: ApprovalStatus = Field(
        default=ApprovalStatus.PENDING, description="only approvals in this status"
    )
    limit: PageSize = 50
    continuation: Continuation | None = None


class DeploymentApprovalQuery(Query):
    limit: PageSize = 100
    continuation: Continuation | None = None


class EventQuery(Query):
    after: int = Field(
        default=0, ge=0, le=10**15, description="only events after this cursor (0: the oldest)"
    )
    subject: str | None = Field(
        default=None,
        pattern=DEPLOYMENT_ID_PATTERN,
        description="only events about this deployment (or schedule)",
    )
    limit: PageSize = Field(default=100, description="at most this many events")


class PageQuery(Query):
    limit: PageSize = 50
    continuation: Continuation | None = None
