"""The core services that act on orchestrations, bound to the calling function's durable
client and built from the runtime (settings, registry, clock, stores)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from runs.orchestration import ensure_started, purge_orchestration

if TYPE_CHECKING:
    import azure.durable_functions as df

    from haymaker.retention import Retention
    from haymaker.schedules.scheduler import Scheduler


def scheduler_for(client: df.DurableOrchestrationClient) -> Scheduler:
    from haymaker.runtime import get_runtime
    from haymaker.schedules.scheduler import Scheduler

    runtime = get_runtime()
    return Scheduler(
        runtime.stores(),
        runtime.registry,
        lambda deployment_id: ensure_started(client, deployment_id),
        clock=runtime.clock,
        grace=timedelta(seconds=runtime.settings.schedule_grace_seconds),
        require_llm=runtime.require_llm,
    )


def retention_for(client: df.DurableOrchestrationClient) -> Retention:
    from haymaker.retention import Retention
    from haymaker.runtime import get_runtime

    runtime = get_runtime()
    return Retention(
        runtime.stores(),
        runtime.registry,
        lambda deployment_id: purge_orchestration(client, deployment_id),
        clock=runtime.clock,
    )
