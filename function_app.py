"""The Functions app: it only wires the blueprints together."""

import azure.durable_functions as df
import azure.functions as func

from activities.deployment import bp as deployment_activities
from api.approvals import bp as approval_api
from api.deployments import bp as deployment_api
from api.events import bp as event_api
from api.me import bp as me_api
from api.meta import bp as meta_api
from api.schedules import bp as schedule_api
from api.services import bp as service_api
from api.subscriptions import bp as subscription_api
from api.transcripts import bp as transcript_api
from api.ui import bp as dashboard
from api.workloads import bp as workload_api
from orchestrators.deployment import bp as deployment_orchestrators
from timers.events import bp as event_timer
from timers.retention import bp as retention_timer
from timers.scheduler import bp as scheduler_timer

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (
    deployment_orchestrators,
    deployment_activities,
    deployment_api,
    approval_api,
    schedule_api,
    transcript_api,
    service_api,
    scheduler_timer,
    retention_timer,
    event_api,
    subscription_api,
    event_timer,
    workload_api,
    meta_api,
    me_api,
    dashboard,
):
    app.register_functions(blueprint)
