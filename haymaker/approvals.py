"""Human approvals: a step asks a person to decide, the deployment waits (idle, no polling)
until someone does or the request times out, and the next step sees the decision.

The approvals table holds the truth: a decision is one ETag-guarded write of a pending row,
so two people deciding at once, or a person and the timeout, give exactly one outcome.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

APPROVAL_KEY_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
DEFAULT_OPTIONS = ("approve", "reject")
MAX_PAYLOAD_CHARS = 16_000
# Keys the platform asks under itself (budget-1, budget-2, ...); `budget` names the latest.
BUDGET_KEY = "budget"


class ApprovalRequest(BaseModel):
    """What a step returns (StepResult.approval) to ask for a decision."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    key: str = Field(pattern=APPROVAL_KEY_PATTERN, description="unique in the deployment")
    question: str = Field(min_length=1, max_length=1000)
    options: list[str] = Field(default_factory=lambda: list(DEFAULT_OPTIONS), min_length=1)
    payload: dict[str, Any] | None = Field(
        default=None, description="what will be done, shown to the approver"
    )
    timeout_seconds: float | None = Field(default=None, gt=0, le=365 * 24 * 3600)
    on_timeout: str | None = Field(
        default=None, description="the decision taken on timeout (default: the last option)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalRequest:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be distinct")
        if any(not 1 <= len(option) <= 64 for option in self.options):
            raise ValueError("each option must be 1-64 characters")
        if self.on_timeout is not None and self.on_timeout not in self.options:
            raise ValueError(f"on_timeout {self.on_timeout!r} is not one of the options")
        if self.payload is not None:
            size = len(json.dumps(self.payload, default=str))
            if size > MAX_PAYLOAD_CHARS:
                raise ValueError(
                    f"payload is {size} characters of JSON; at most {MAX_PAYLOAD_CHARS}"
                )
        return self

    @property
    def timeout_decision(self) -> str:
        return self.on_timeout or self.options[-1]


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    DECIDED = "decided"
    CANCELLED = "cancelled"  # the deployment ended before anyone decided


class Decision(BaseModel):
    """What a step sees with ctx.approval(key)."""

    model_config = ConfigDict(defer_build=True)

    decision: str
    comment: str | None = None
    decided_by: str
    decided_at: datetime
    timed_out: bool = False


class Approval(BaseModel):
    """One request and, once made, its decision (a row of the approvals table)."""

    model_config = ConfigDict(defer_build=True)

    deployment_id: str
    key: str
    question: str
    options: list[str]
    payload: dict[str, Any] | None = None
    status: ApprovalStatus = ApprovalStatus.PENDING
    requested_at: datetime
    expires_at: datetime | None = None
    on_timeout: str
    step: int = Field(description="the step that asked")
    budget: bool = Field(default=False, description="asked by the platform: raise the budget?")
    decision: Decision | None = None
    raised: dict[str, float] | None = Field(
        default=None, description="the new budget limits an approved raise set"
    )

    @classmethod
    def requested(
        cls,
        deployment_id: str,
        request: ApprovalRequest,
        step: int,
        now: datetime,
        *,
        budget: bool = False,
    ) -> Approval:
        expires = (
            now + timedelta(seconds=request.timeout_seconds) if request.timeout_seconds else None
        )
        return cls(
            deployment_id=deployment_id,
            key=request.key,
            question=request.question,
            options=request.options,
            payload=request.payload,
            requested_at=now,
            expires_at=expires,
            on_timeout=request.timeout_decision,
            step=step,
            budget=budget,
        )

    def same_request(self, other: Approval) -> bool:
        """Whether `other` is this request asked again (a re-run of the step that asked).
        A budget request's key is numbered by the deployment, so its step says enough: its
        question quotes usage (wall-clock hours) that moves between two runs."""
        if self.budget or other.budget:
            return (self.step, self.budget) == (other.step, other.budget)
        return (self.step, self.question, self.options) == (
            other.step,
            other.question,
            other.options,
        )


class PendingApproval(BaseModel):
    """What a deployment's state shows while it waits for a decision."""

    model_config = ConfigDict(defer_build=True)

    key: str
    question: str
    options: list[str]
    requested_at: datetime
    expires_at: datetime | None = None

    @classmethod
    def of(cls, approval: Approval) -> PendingApproval:
        return cls(
            key=approval.key,
            question=approval.question,
            options=approval.options,
            requested_at=approval.requested_at,
            expires_at=approval.expires_at,
        )


class DecisionRequest(BaseModel):
    """The body of POST /deployments/{id}/approvals/{key}."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        defer_build=True,
        json_schema_extra={"examples": [{"decision": "approve", "comment": "looks right"}]},
    )

    decision: str = Field(min_length=1, max_length=64)
    comment: str | None = Field(default=None, max_length=2000)
    raise_: dict[str, float] | None = Field(
        default=None,
        alias="raise",
        description="with approve on a budget approval: the new limits, e.g. {max_cost_usd: 5}",
    )
