"""One trace per deployment run, checked with the OpenTelemetry SDK's in-memory exporter: the
deploy request's traceparent is kept, every activity's span is a child of the request's span,
model calls follow the GenAI conventions, tools, Table calls and webhook deliveries join the
same trace, log records carry its ids, and no attribute holds a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from haymaker import tracing
from haymaker.llm import Provider, create_llm_client
from haymaker.runtime import use_runtime
from haymaker.tracing.setup import use_provider
from haymaker_testing.orchestration import InlineOrchestration
from tests.support.llm_stub import STUB_KEY, LLMStub, stub_config
from tests.support.traced import TracedAgent
from tests.support.webhook_receiver import Receiver

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
SECRET = "webhook-secret-in-no-span-0042"

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (it can be set once): every span, in memory."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    use_provider(provider)
    yield _exporter
    from azure.core.settings import settings

    tracing.set_enabled(False)
    settings.tracing_enabled = False


class Starter:
    """What the durable client's start_new is given: the run's input, for the orchestrator
    the test then drives in-process."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str, Any]] = []

    async def start_new(self, name: str, instance_id: str, client_input: Any) -> str:
        self.started.append((name, instance_id, client_input))
        return instance_id


def deploy_operation():
    import function_app  # noqa: F401 - declares the operations
    from api.operation import registered_operations

    return next(o for o in registered_operations() if o.operation_id == "deploy")


def span_id(span: ReadableSpan) -> str:
    return f"{span.context.span_id:016x}"


def parent_id(span: ReadableSpan) -> str | None:
    return f"{span.parent.span_id:016x}" if span.parent else None


async def test_one_deployment_is_one_trace(spans, app_env, function_app, caplog):
    stub = LLMStub().start()
    receiver = Receiver().start()
    spans.clear()
    config = stub_config(stub, Provider.ANTHROPIC)
    try:
        with use_runtime(llm_factory=lambda: create_llm_client(config)) as runtime:
            if "traced-agent" not in runtime.registry.names():
                runtime.registry.add(TracedAgent)
            # a webhook subscription, so deliveries are spans too
            stores = runtime.stores()
            from haymaker.events.subscriptions import SubscriptionSpec
            from haymaker.runtime import get_stores_of

            quiet = get_stores_of(runtime)
            await quiet.subscriptions.create(
                SubscriptionSpec(url=receiver.url, secret=SECRET), runtime.clock(), 0
            )
            settings = runtime.settings.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"})
        with use_runtime(
            llm_factory=lambda: create_llm_client(config), settings=settings
        ) as runtime:
            starter = Starter()
            request = func.HttpRequest(
                method="POST",
                url="http://localhost/api/deployments",
                headers={"traceparent": TRACEPARENT, "content-type": "application/json"},
                params={},
                route_params={},
                body=json.dumps({"workload": "traced-agent"}).encode(),
            )
            response = await deploy_operation().serve(request, starter)  # type: ignore[arg-type]
            assert response.status_code == 202, response.get_body()
            [(name, deployment_id, run_input)] = starter.started
            assert run_input["traceparent"].split("-")[1] == TRACE_ID
            orchestration = InlineOrchestration(function_app, name, deployment_id, run_input)
            with caplog.at_level(logging.INFO, logger="haymaker"):
                await orchestration.run_to_completion()
            assert orchestration.output["status"] == "completed", orchestration.output
            nudger = stores.tables.outbox_listener
            await nudger.idle()  # type: ignore[union-attr]
            await runtime.dispatcher().sweep()
            await receiver.wait_for(1)
    finally:
        stub.stop()
        receiver.stop()

    finished = spans.get_finished_spans()
    mine = [s for s in finished if f"{s.context.trace_id:032x}" == TRACE_ID]
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in mine:
        by_name.setdefault(span.name, []).append(span)

    # the deploy request: a server span, child of the caller's span
    [server] = by_name["POST /deployments"]
    assert parent_id(server) == CALLER_SPAN
    assert server.attributes["http.response.status_code"] == 202
    # every activity of the run: a child of the request's span (the stored traceparent)
    activities = [s for s in mine if s.name.startswith("deployment.")]
    assert {s.name for s in activities} >= {"deployment.reconcile", "deployment.step"}
    assert {parent_id(s) for s in activities} == {span_id(server)}
    steps = sorted(by_name["deployment.step"], key=lambda s: s.attributes["haymaker.step"])
    assert [s.attributes["haymaker.step"] for s in steps] == [0, 1]
    assert steps[-1].attributes["haymaker.status"] == "completed"
    # the model call: GenAI conventions, inside the first step
    [chat] = by_name["chat claude-test"]
    assert parent_id(chat) == span_id(steps[0])
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "anthropic"
    assert chat.attributes["gen_ai.request.model"] == "claude-test"
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    # the tool call, inside the second step
    [tool] = by_name["execute_tool lookup"]
    assert parent_id(tool) == span_id(steps[1])
    assert tool.attributes["gen_ai.tool.name"] == "lookup"
    assert tool.attributes["gen_ai.tool.call.id"] == "call-1"
    # Table Storage calls (the Azure SDK's own spans) belong to the trace, under activities
    table_calls = [s for s in mine if s.name.startswith("TableClient.")]
    assert table_calls
    ids = {span_id(s) for s in mine}
    assert all(parent_id(s) in ids for s in table_calls)
    # webhook deliveries: the events' traceparent is the deployment's
    deliveries = by_name["webhook.deliver"]
    assert {s.attributes["cloudevents.event_subject"] for s in deliveries} == {deployment_id}
    assert {s.attributes["http.response.status_code"] for s in deliveries} == {200}
    # the tree is whole: every span's parent is in the trace, but the caller's
    assert {parent_id(s) for s in mine} - ids == {CALLER_SPAN}

    # log records carry the ids of the span they were written in
    step_logs = [r for r in caplog.records if r.getMessage().startswith("step ")]
    assert step_logs
    for record in step_logs:
        assert record.trace_id == TRACE_ID
        assert record.span_id in {span_id(s) for s in steps}

    # no secret anywhere: not the model key, the webhook secret, nor a URL path
    for span in finished:
        text = json.dumps({k: str(v) for k, v in (span.attributes or {}).items()})
        assert STUB_KEY not in text
        assert SECRET not in text
        assert "/hook" not in text


def test_tracing_off_records_nothing_and_imports_no_sdk():
    """With HAYMAKER_TRACING unset, importing the app loads no OpenTelemetry SDK or exporter
    (its cold start is unchanged) and a span is a no-op."""
    import subprocess
    import sys

    from tests.support.azurite import ROOT

    probe = (
        "import function_app, sys\n"
        "from haymaker import tracing\n"
        "with tracing.span('x') as s: assert s is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk',"
        " 'azure.monitor', 'opentelemetry.exporter', 'azure.eventgrid'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_new_deployment_gets_a_trace_of_its_own_or_its_callers():
    was = tracing.enabled()
    tracing.set_enabled(False)
    try:
        assert tracing.traceparent_for_new_deployment(TRACEPARENT) == TRACEPARENT
        fresh = tracing.traceparent_for_new_deployment("00-" + "0" * 32 + "-" + "1" * 16 + "-01")
        assert tracing.valid_traceparent(fresh) == fresh
        assert tracing.trace_id_of(fresh) != "0" * 32
        assert tracing.valid_traceparent("garbage") is None
    finally:
        tracing.set_enabled(was)
