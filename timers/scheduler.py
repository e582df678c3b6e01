"""The timer that starts scheduled deployments (every minute in Azure: app setting
HAYMAKER_SCHEDULER_CRON = "0 * * * * *")."""

import logging

import azure.durable_functions as df
import azure.functions as func

from runs.services import scheduler_for

logger = logging.getLogger("haymaker.schedules")

bp = df.Blueprint()


@bp.timer_trigger(schedule="%HAYMAKER_SCHEDULER_CRON%", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def schedule_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    report = await scheduler_for(client).tick()
    if report.started or report.failed or timer.past_due:
        logger.info(
            "scheduler tick: started %s, skipped %s, failed %s, stale index rows %d%s",
            report.started,
            report.skipped,
            report.failed,
            report.stale,
            " (late)" if timer.past_due else "",
        )
