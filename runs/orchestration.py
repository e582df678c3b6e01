"""How the app makes an orchestration act on a desired state it just wrote: ring the doorbell
of the live run, or start a new run when none is live; and drop a finished run's history."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

from azure.durable_functions.models.OrchestrationRuntimeStatus import (
    OrchestrationRuntimeStatus as Runtime,
)

from haymaker.errors import ServiceUnavailableError

if TYPE_CHECKING:
    import azure.durable_functions as df

    from haymaker.store import DeploymentRecord

logger = logging.getLogger("haymaker.runs")

LIVE = frozenset({Runtime.Running, Runtime.Pending, Runtime.ContinuedAsNew, Runtime.Suspended})
# A run that just finished the deployment may take a moment to end; a new run waits for it.
END_WAIT_SECONDS = 10.0
END_POLL_SECONDS = 0.25


async def start_run(
    client: df.DurableOrchestrationClient, deployment_id: str, traceparent: str | None = None
) -> None:
    """Start a run; its activities are spans of the deployment's trace (`traceparent`, or
    the one stored on the deployment)."""
    from haymaker.contracts import ORCHESTRATOR, RunInput

    if traceparent is None:
        traceparent = await _stored_traceparent(deployment_id)
    run = RunInput(
        deployment_id=deployment_id, run_id=secrets.token_hex(4), traceparent=traceparent
    )
    await client.start_new(ORCHESTRATOR, instance_id=deployment_id, client_input=run.to_payload())


async def _stored_traceparent(deployment_id: str) -> str | None:
    from haymaker.runtime import get_runtime

    record = await get_runtime().stores().deployments.get(deployment_id)
    return record.state.traceparent


async def _is_live(client: df.DurableOrchestrationClient, deployment_id: str) -> bool:
    status = await client.get_status(deployment_id)
    return bool(status) and status.runtime_status in LIVE


async def notify(
    client: df.DurableOrchestrationClient, record: DeploymentRecord, *, was_finished: bool
) -> None:
    deployment_id = record.deployment_id
    live = await _is_live(client, deployment_id)
    if live and not was_finished:
        if record.progress.wake_event:
            try:
                await client.raise_event(deployment_id, record.progress.wake_event, None)
            except Exception as exc:
                # The run re-reads the table at its next boundary or timer; the bell is a hint.
                logger.warning("doorbell for %s not delivered: %s", deployment_id, exc)
        return
    waited = 0.0
    while live:
        if waited >= END_WAIT_SECONDS:
            raise ServiceUnavailableError(
                f"the previous run of {deployment_id} is still ending; the request is recorded, "
                "send it again to start the new run"
            )
        await asyncio.sleep(END_POLL_SECONDS)
        waited += END_POLL_SECONDS
        live = await _is_live(client, deployment_id)
    await start_run(client, deployment_id, record.state.traceparent)


async def ensure_started(client: df.DurableOrchestrationClient, deployment_id: str) -> None:
    """Start the run of a pending deployment unless one is live (a retried call is a no-op)."""
    if await _is_live(client, deployment_id):
        return
    try:
        await start_run(client, deployment_id)
    except Exception:
        if not await _is_live(client, deployment_id):  # lost a race to another starter: fine
            raise


async def purge_orchestration(client: df.DurableOrchestrationClient, deployment_id: str) -> None:
    """Drop a finished deployment's orchestration history (nothing to drop is fine)."""
    await client.purge_instance_history(deployment_id)
