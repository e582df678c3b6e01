"""A test-only Functions app exercising the local host's engine: fan-out/fan-in, retries,
external events, sub-orchestrations, timers, continue-as-new and a timer trigger."""

import os
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()["n"]
    squares = yield context.task_all([context.call_activity("square", i) for i in range(count)])
    return sum(squares)


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    total = 0
    for i in range(context.get_input()["n"]):
        total += yield context.call_activity("square", i)
    return total


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    answer = yield context.wait_for_external_event("approve")
    return {"approved": answer}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child = yield context.call_sub_orchestrator("fan_out", {"n": 4})
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=300))
    return {"child": child}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    value = context.get_input()
    yield context.call_activity("square", value)
    if value < 4:
        context.continue_as_new(value + 1)
        return None
    return value


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity("explode", None)


@app.activity_trigger(input_name="value")
def square(value: int) -> int:
    return value * value


@app.activity_trigger(input_name="payload")
def flaky(payload: dict) -> str:
    marker = Path(payload["marker"])
    attempts = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(attempts))
    if attempts <= payload["fail"]:
        raise RuntimeError(f"attempt {attempts} failed")
    return f"ok after {attempts}"


@app.activity_trigger(input_name="payload")
def explode(payload: None) -> None:
    raise ValueError("boom")


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["name"], None, req.get_json() if body else None
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="echo/{*rest}", auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"{req.method} {req.route_params.get('rest')} {req.params.get('q')}")


# Two functions on one route template, one method each.
@app.route(route="items/{item}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def read_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"read {req.route_params['item']}")


@app.route(route="items/{item}", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
def delete_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"deleted {req.route_params['item']}")


@app.timer_trigger(schedule="* * * * * *", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    path = os.environ.get("SAMPLE_TICK_FILE")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{int(timer.past_due)}\n")
