"""The events timer (every minute, at second 15): moves every outbox's
events into the feed and delivers the feed to every sink. Writes nudge the dispatcher at
once (haymaker.events.nudge); this sweep is what finds events a nudge missed (the process
ended first) and retries deliveries whose next attempt is due."""

import logging

import azure.durable_functions as df
import azure.functions as func

logger = logging.getLogger("haymaker.events")

bp = df.Blueprint()


@bp.timer_trigger(schedule="15 * * * * *", arg_name="timer", run_on_startup=True)
async def event_dispatch(timer: func.TimerRequest) -> None:
    from haymaker.runtime import get_runtime

    report = await get_runtime().dispatcher().sweep()
    failing = [d.sink for d in report.deliveries if d.errors]
    if report.moved or report.delivered or failing:
        logger.info(
            "event sweep: moved %d to the feed, delivered %d, failing sinks %s",
            report.moved,
            report.delivered,
            failing or "none",
        )
