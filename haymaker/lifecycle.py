"""What the HTTP API does to deployments: create them and record desired states. Running them
is the orchestration's business; this module never touches a workload's own resources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from haymaker import tracing
from haymaker.budgets import Budget
from haymaker.clock import Clock, utc_now
from haymaker.errors import LLMNotConfiguredError, ValidationFailedError
from haymaker.keys import new_deployment_id
from haymaker.llm.prices import Price
from haymaker.models import DeploymentConfig, DeploymentState, DeploymentStatus, Resource
from haymaker.store import DeploymentRecord, Stores
from haymaker.transitions import Command, desired_after
from haymaker.workloads.registry import WorkloadRegistry


@dataclass(frozen=True)
class DeployPolicy:
    """What the platform's settings require of a new deployment."""

    # Raises LLMConfigError when no model is configured (None: one always is).
    require_llm: Callable[[], object] | None = None
    # Limits for deployments that set none.
    default_budget: Budget | None = None
    # The configured model's price; None as the function: prices are not checked.
    model_price: Callable[[], Price | None] | None = None


@dataclass
class CommandOutcome:
    record: DeploymentRecord
    accepted: bool  # False: the deployment already is, or is already heading, where asked


@dataclass
class CleanupPreview:
    deployment_id: str
    resources: list[Resource]
    continuation: str | None


class Lifecycle:
    def __init__(
        self,
        stores: Stores,
        registry: WorkloadRegistry,
        clock: Clock = utc_now,
        policy: DeployPolicy | None = None,
    ) -> None:
        self.stores = stores
        self.registry = registry
        self.clock = clock
        self.policy = policy or DeployPolicy()

    def validated_config(self, workload: str, config: dict[str, Any] | None) -> dict[str, Any]:
        """The workload's checks of `config`; and a config that makes it call a model is
        refused (422, naming the missing setting) while no model is configured."""
        validated = self.registry.validate_config(workload, config)
        require_llm = self.policy.require_llm
        if require_llm is not None and self._needs_llm(workload, validated):
            from haymaker.llm import LLMConfigError

            try:
                require_llm()
            except LLMConfigError as exc:
                raise LLMNotConfiguredError(
                    f"{workload} with this config calls an LLM, and none is configured: {exc}"
                ) from None
        return validated

    def _needs_llm(self, workload: str, config: dict[str, Any]) -> bool:
        return self.registry.workload_class(workload).needs_llm(config)

    def budget_for(
        self, workload: str, config: dict[str, Any], budget: Budget | None
    ) -> Budget | None:
        """The deployment's budget: its own limits over the platform's defaults. A cost
        limit on a model with no price is refused (422): its cost could not be measured."""
        chosen = (budget or Budget()).over(self.policy.default_budget)
        if not chosen.limits():
            return None
        model_price = self.policy.model_price
        if (
            chosen.max_cost_usd is not None
            and model_price is not None
            and self._needs_llm(workload, config)
            and model_price() is None
        ):
            source = (
                "" if budget and budget.max_cost_usd is not None else " (HAYMAKER_DEFAULT_BUDGET)"
            )
            raise ValidationFailedError(
                f"budget.max_cost_usd{source} needs the model's price, and the configured "
                "model has none: add it to HAYMAKER_LLM_PRICES (US dollars per million input "
                "and output tokens), or use a token limit",
                errors=[{"key": "budget.max_cost_usd", "message": "the model has no price"}],
            )
        return chosen

    async def create(
        self,
        request: DeploymentConfig,
        *,
        deployment_id: str | None = None,
        schedule: tuple[str, datetime] | None = None,
        traceparent: str | None = None,
    ) -> DeploymentRecord:
        """Record a pending deployment (DeploymentExistsError if `deployment_id` is taken).
        A scheduled run passes its (schedule id, slot), kept in the metadata. The deployment
        keeps the trace it is created in (the span in progress, else the caller's
        `traceparent`, else a new one): its whole run is one trace."""
        manifest = self.registry.manifest(request.workload_name)
        config = self.validated_config(manifest.name, request.workload_config)
        budget = self.budget_for(manifest.name, config, request.budget)
        now = self.clock()
        metadata: dict[str, Any] = {"workload_version": manifest.version}
        if schedule is not None:
            metadata.update(schedule_id=schedule[0], slot=schedule[1].isoformat())
        record = DeploymentRecord(
            state=DeploymentState(
                deployment_id=deployment_id or new_deployment_id(manifest.name),
                workload_name=manifest.name,
                status=DeploymentStatus.PENDING,
                desired_status=DeploymentStatus.RUNNING,
                created_at=now,
                duration_hours=request.duration_hours,
                config=config,
                tags=request.tags,
                metadata=metadata,
                schedule_id=schedule[0] if schedule else None,
                budget=budget,
                traceparent=tracing.traceparent_for_new_deployment(traceparent),
            )
        )
        record.log(f"Deployment of {manifest.name} {manifest.version} requested", now)
        await self.stores.logs.write(record.deployment_id, record.new_logs)
        return await self.stores.deployments.create(record)

    async def command(self, deployment_id: str, command: Command) -> CommandOutcome:
        """Record the desired status `command` asks for (ETag-guarded, validated by the
        transition table). Log lines are the orchestration's to write, so this writes none:
        two writers handing out line numbers at once could overwrite each other's lines."""

        def change(record: DeploymentRecord) -> bool:
            target = desired_after(record.state, command)
            if target is None:
                return False
            record.state.desired_status = target
            return True

        record, accepted = await self.stores.mutate(deployment_id, change)
        return CommandOutcome(record=record, accepted=accepted)

    async def fail_unstarted(self, deployment_id: str, error: str) -> DeploymentRecord:
        """Mark a deployment whose orchestration could not be started as failed. No run
        exists to write its log, so this is the one place the API writes a log line."""
        now = self.clock()

        def change(record: DeploymentRecord) -> None:
            if record.state.status != DeploymentStatus.PENDING:
                return
            record.move_to(DeploymentStatus.FAILED, now)
            record.state.error = error
            record.log(f"Deployment failed: {error}", now, "error")

        record, _ = await self.stores.mutate(deployment_id, change)
        return record

    async def preview_cleanup(
        self, deployment_id: str, *, limit: int, continuation: str | None
    ) -> CleanupPreview:
        record = await self.stores.deployments.get(deployment_id)
        # Judge the command as if it were sent, without writing anything.
        desired_after(record.state, Command.CLEANUP)
        page = await self.stores.resources.page(
            deployment_id, limit=limit, continuation=continuation
        )
        return CleanupPreview(deployment_id, page.items, page.continuation)
