"""One orchestration per deployment (instance id = deployment id): the trigger. Its logic,
with the contracts it speaks, is imported on the first run (orchestrators.deployment_run),
so importing the app loads no pydantic model."""

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def deployment_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    from orchestrators import deployment_run

    return (yield from deployment_run.run(context))
