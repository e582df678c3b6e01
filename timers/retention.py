"""The hourly sweep that purges deployments finished more than HAYMAKER_RETENTION_DAYS
(default 30) ago, at most HAYMAKER_RETENTION_BATCH (default 100) per run, so each run stays
short however large the backlog; a backlog drains over the following hours. Events older than
that leave the feed too, once every sink has dealt with them."""

import logging
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from runs.services import retention_for

logger = logging.getLogger("haymaker.retention")

bp = df.Blueprint()


@bp.timer_trigger(schedule="0 17 * * * *", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def retention_sweep(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    from haymaker.runtime import get_runtime

    runtime = get_runtime()
    days, batch = runtime.settings.retention_days, runtime.settings.retention_batch
    report = await retention_for(client).sweep(days, batch)
    stale = await runtime.stores().ratelimits.forget_before(runtime.clock() - timedelta(hours=1))
    feed = runtime.stores().feed
    kept_from = await runtime.stores().subscriptions.slowest_cursor(await feed.head())
    forgotten = await feed.forget(runtime.clock() - timedelta(days=days), up_to=kept_from)
    if forgotten:
        logger.info(
            "retention sweep: dropped %d events older than %s days from the feed", forgotten, days
        )
    logger.info(
        "retention sweep: purged %d deployments finished over %s days ago, kept %d",
        len(report.purged),
        days,
        len(report.kept),
    )
    if stale:
        logger.info("retention sweep: dropped %d expired rate-limit rows", stale)
    for deployment_id, why in report.kept.items():
        logger.warning(
            "retention kept %s: %s", deployment_id, why, extra={"deployment_id": deployment_id}
        )
