"""Messages between the deployment orchestrator and its activities.

They cross the Durable boundary as plain JSON (`to_payload` / `model_validate`) rather than the
SDK's class envelopes, so renaming a module never strands an in-flight orchestration, and a
field added with a default stays readable by older histories.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from haymaker.models import CleanupReport, DeploymentStatus

ORCHESTRATOR = "deployment_orchestrator"


class ActivityName:
    RECONCILE = "reconcile_deployment"
    RUN_STEP = "run_deployment_step"
    CLEANUP = "cleanup_deployment"
    FINISH = "finish_deployment"


class Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Traced(Contract):
    """An activity's request: it runs as a span of the deployment's trace."""

    traceparent: str | None = Field(
        default=None, description="the deployment's trace context (haymaker.tracing)"
    )


class RunInput(Contract):
    """Input of one generation of a deployment orchestration."""

    deployment_id: str
    run_id: str = Field(description="distinguishes orchestrations started for one deployment")
    generation: int = 0
    traceparent: str | None = Field(
        default=None, description="the deployment's trace context, handed to every activity"
    )


class DeploymentView(Contract):
    """What the orchestrator needs to decide its next move; every activity returns one."""

    status: DeploymentStatus
    desired_status: DeploymentStatus
    phase: str
    step: int
    deadline: datetime | None = None
    wake_event: str | None = None
    error: str | None = None
    resume_at: datetime | None = None  # the workload asked for its next step not before this
    approval_key: str | None = None  # waiting for this decision
    approval_expires_at: datetime | None = None  # when it times out


class ReconcileRequest(Traced):
    """Bring the actual status in line with the desired one; if the deployment is then idle,
    record `wake_event` as the doorbell the API must ring."""

    deployment_id: str
    wake_event: str


class StepRequest(Traced):
    deployment_id: str
    step: int = Field(ge=0, description="steps completed so far; a re-run step is recognised")
    wake_event: str | None = Field(
        default=None, description="doorbell to record if the workload asks to pause after the step"
    )


class CleanupRequest(Traced):
    deployment_id: str
    continuation: str | None = None
    report: CleanupReport | None = None
    batch_size: int = Field(default=200, ge=1, le=1000)


class CleanupProgress(Contract):
    view: DeploymentView
    report: CleanupReport
    continuation: str | None = None
    done: bool


class FinishRequest(Traced):
    deployment_id: str
    outcome: Literal["expired", "failed"]
    error: str | None = None
