"""Scheduled workloads: what a user asks for, and what the platform keeps about it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field

from haymaker.budgets import Budget
from haymaker.keys import SCHEDULE_ID_PATTERN, WORKLOAD_NAME_PATTERN
from haymaker.models import MAX_DURATION_HOURS, Model, Tags
from haymaker.ncrontab import Schedule, time_zone

CRON_PATTERN = r"^\s*\S+(\s+\S+){5}\s*$"
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$"
MAX_ACTIVE_LIMIT = 100
RECENT_RUNS_KEPT = 20


class CatchUp(StrEnum):
    SKIP = "skip"  # a slot missed by more than the grace period is not run
    LATEST = "latest"  # after downtime, the latest missed slot runs once


# These run before the schema's patterns, so a bad value gets the parser's explanation
# ("six fields: ...") rather than a regular expression; anything not a string is left for
# the type check to refuse.
def _cron(value: Any) -> Any:
    return Schedule.parse(value).expression if isinstance(value, str) else value


def _zone(value: Any) -> Any:
    if isinstance(value, str):
        time_zone(value)
    return value


Cron = Annotated[str, Field(pattern=CRON_PATTERN), BeforeValidator(_cron)]
TimeZone = Annotated[str, Field(pattern=ZONE_PATTERN), BeforeValidator(_zone)]


class ScheduleSpec(Model):
    """What a user sets on a schedule (`workload`/`config` also accept the long names)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "workload": "data-collector",
                    "config": {"item_count": 20, "item_delay_ms": 0},
                    "cron": "0 30 9 * * 1-5",
                    "time_zone": "Europe/London",
                }
            ]
        },
    )

    workload_name: str = Field(
        pattern=WORKLOAD_NAME_PATTERN, validation_alias=AliasChoices("workload", "workload_name")
    )
    workload_config: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("config", "workload_config")
    )
    cron: Cron = Field(description="NCRONTAB, six fields: second minute hour day month day-of-week")
    time_zone: TimeZone = Field(default="UTC", description="IANA time zone the cron is read in")
    duration_hours: float | None = Field(default=None, gt=0, le=MAX_DURATION_HOURS)
    tags: Tags = Field(default_factory=dict)
    enabled: bool = True
    catch_up: CatchUp = CatchUp.SKIP
    max_active: int = Field(default=1, ge=1, le=MAX_ACTIVE_LIMIT)
    budget: Budget | None = Field(default=None, description="the budget of every run")


class ScheduleUpdate(Model):
    """A PATCH: only the fields given change."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    workload_config: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("config", "workload_config")
    )
    cron: Cron | None = None
    time_zone: TimeZone | None = None
    duration_hours: float | None = Field(default=None, gt=0, le=MAX_DURATION_HOURS)
    tags: Tags | None = None
    enabled: bool | None = None
    catch_up: CatchUp | None = None
    max_active: int | None = Field(default=None, ge=1, le=MAX_ACTIVE_LIMIT)
    budget: Budget | None = None


RunOutcome = Literal["started", "triggered", "skipped_max_active", "skipped_missed", "failed"]


class RunRecord(Model):
    slot: datetime
    outcome: RunOutcome
    deployment_id: str | None = None
    error: str | None = None
    at: datetime


class ScheduleState(ScheduleSpec):
    """A stored schedule."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schedule_id: str = Field(pattern=SCHEDULE_ID_PATTERN)
    created_at: datetime
    updated_at: datetime
    last_slot: datetime | None = None
    next_slot: datetime | None = None
    active_runs: list[str] = Field(default_factory=list)
    recent_runs: list[RunRecord] = Field(default_factory=list)

    @property
    def schedule(self) -> Schedule:
        return Schedule.parse(self.cron)

    def record(self, run: RunRecord) -> None:
        self.recent_runs = [run, *self.recent_runs][:RECENT_RUNS_KEPT]


def slot_deployment_id(schedule_id: str, slot: datetime) -> str:
    """The one deployment id a slot may have: a second tick for it collides with the first."""
    return f"{schedule_id}-{slot:%Y%m%dt%H%M%S}"
