"""The M365 knowledge-worker simulation: its rates, its identities against a Graph stub
through the real client code, and the durable run on the local host."""

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from haymaker.contracts import ORCHESTRATOR, RunInput
from haymaker.errors import ConfigError
from haymaker.lifecycle import Lifecycle
from haymaker.models import DeploymentConfig, DeploymentStatus
from haymaker.transitions import Command
from haymaker.workloads.m365 import graph
from haymaker.workloads.m365.email import EmailGenerator, parse
from haymaker.workloads.m365.patterns import (
    DEPARTMENT_PATTERNS,
    Department,
    roster,
    simulate_minute,
)
from tests.support.durable import InlineOrchestration
from tests.support.graph_stub import GraphStub

ALL = [d.value for d in Department]


# -- rates ---------------------------------------------------------------------------------


def test_long_seeded_simulation_matches_the_department_rates():
    workers = roster("dep-stats", 60, ALL, "contoso.com")  # ten per department
    counts: Counter[tuple[str, str]] = Counter()
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    minutes = 0
    for day in range(20):
        for minute in range(9 * 60):
            moment = start + timedelta(days=day, minutes=minute)
            cycle = day * 1440 + minute
            for activity in simulate_minute(workers, cycle, moment, "stats-seed", 8, 17):
                counts[(activity.worker.department.value, activity.kind)] += 1
            minutes += 1
    for department, pattern in DEPARTMENT_PATTERNS.items():
        for kind, chance in pattern.probabilities().items():
            expected = chance * minutes * 10  # ten workers per department
            observed = counts[(department.value, kind)]
            # within four standard deviations of a binomial count
            assert abs(observed - expected) <= 4 * (expected * (1 - chance)) ** 0.5, (
                department,
                kind,
            )
    # and the rates read back in the table's units
    sales = DEPARTMENT_PATTERNS[Department.SALES]
    assert counts[("sales", "email")] / 10 / (minutes / 60) == pytest.approx(
        sales.emails_per_hour, rel=0.05
    )


def test_nothing_happens_outside_work_hours():
    workers = roster("dep-hours", 60, ALL, "contoso.com")
    night = datetime(2026, 3, 2, 0, tzinfo=UTC)
    for minute in range(0, 24 * 60, 7):
        moment = night + timedelta(minutes=minute)
        activities = simulate_minute(workers, minute, moment, "s", 8, 17)
        if not 8 <= moment.hour < 17:
            assert activities == []


def test_the_same_seed_draws_the_same_and_another_does_not():
    workers = roster("dep-seed", 30, ALL, "contoso.com")
    moment = datetime(2026, 3, 2, 10, tzinfo=UTC)
    first = [
        (a.worker.index, a.kind)
        for c in range(50)
        for a in simulate_minute(workers, c, moment, "a", 8, 17)
    ]
    again = [
        (a.worker.index, a.kind)
        for c in range(50)
        for a in simulate_minute(workers, c, moment, "a", 8, 17)
    ]
    other = [
        (a.worker.index, a.kind)
        for c in range(50)
        for a in simulate_minute(workers, c, moment, "b", 8, 17)
    ]
    assert first == again
    assert first != other


def test_roster_upns_and_departments():
    workers = roster("m365-knowledge-worker-0123456789", 8, ["sales", "hr"], "contoso.com")
    assert [w.upn for w in workers[:3]] == [
        "haymaker-m365-knowledge-worker-0123456789-sales-1@contoso.com",
        "haymaker-m365-knowledge-worker-0123456789-hr-1@contoso.com",
        "haymaker-m365-knowledge-worker-0123456789-sales-2@contoso.com",
    ]
    long_id = "m" + "x" * 62
    assert all(len(w.upn.split("@")[0]) <= 64 for w in roster(long_id, 12, ALL, "contoso.com"))


# -- emails ----------------------------------------------------------------------------------


class FailingLLM:
    async def complete(self, messages, **kwargs):
        from haymaker.llm import LLMServerError

        raise LLMServerError("down")


class Answering:
    def __init__(self, text):
        self.text = text

    async def complete(self, messages, **kwargs):
        from haymaker.llm import LLMResponse

        return LLMResponse(content=self.text)


async def test_emails_come_from_the_llm_or_fall_back_to_rotating_templates():
    sales, hr = roster("d", 2, ["sales", "hr"], "c.com")
    written = await EmailGenerator(
        lambda: Answering("Subject: Q3 numbers\n\nHi, see attached."), "Q3"
    ).generate(sales, hr, 0)
    assert (written.subject, written.source) == ("Q3 numbers", "llm")
    for llm in (lambda: FailingLLM(), lambda: Answering("no subject line here"), None):
        fallback = await EmailGenerator(llm).generate(sales, hr, 0)
        assert fallback.source == "template"
    rotated = {(await EmailGenerator(None).generate(sales, hr, n)).subject for n in range(4)}
    assert len(rotated) == 2
    with pytest.raises(ValueError, match="out of bounds"):
        parse("Subject: \n\nbody")


def test_cross_field_config_checks(registry):
    with pytest.raises(ConfigError, match="work_hours_end"):
        registry.validate_config(
            "m365-knowledge-worker", {"work_hours_start": 10, "work_hours_end": 9}
        )
    with pytest.raises(ConfigError, match="tenant_domain"):
        registry.validate_config("m365-knowledge-worker", {"tenant_domain": "not a domain"})
    with pytest.raises(ConfigError, match="departments"):
        registry.validate_config("m365-knowledge-worker", {"departments": "sales,legal"})
    config = registry.validate_config(
        "m365-knowledge-worker", {"departments": "sales,hr", "workers": "20"}
    )
    assert config["departments"] == ["sales", "hr"]
    assert config["dry_run"] is True


# -- Graph, through the real client code against a stub -------------------------------------


@pytest.fixture
def graph_stub():
    stub = GraphStub().start()
    yield stub
    stub.stop()


async def token() -> str:
    return "graph-test-token"


async def test_users_are_created_with_their_upns_and_found_again(graph_stub):
    client = graph.GraphClient(graph_stub.url, token)
    users = graph.EntraUserManager(client)
    workers = roster("dep-graph", 4, ["sales", "hr"], "contoso.com")
    ids = [await users.ensure_user(w, "dep-graph") for w in workers]
    again = [
        await users.ensure_user(w, "dep-graph") for w in workers
    ]  # a re-run finds, not duplicates
    await client.close()
    assert ids == again
    assert sorted(u["userPrincipalName"] for u in graph_stub.users.values()) == sorted(
        w.upn for w in workers
    )
    created = graph_stub.users[ids[0]]
    assert created["department"] == "sales"
    assert created["companyName"] == "haymaker:dep-graph"
    assert created["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert len(created["passwordProfile"]["password"]) >= 16
    assert {call.authorization for call in graph_stub.calls} == {"Bearer graph-test-token"}


async def test_throttling_is_honoured(graph_stub):
    graph_stub.throttle = [1]
    client = graph.GraphClient(graph_stub.url, token)
    began = time.monotonic()
    await graph.EntraUserManager(client).ensure_user(roster("d", 1, ["hr"], "c.com")[0], "d")
    await client.close()
    assert time.monotonic() - began >= 0.95  # waited out Retry-After: 1
    assert [c.method for c in graph_stub.calls] == ["POST", "POST"]


@pytest.fixture
def lifecycle(stores, registry, app_env):
    return Lifecycle(stores, registry)


def use_graph(monkeypatch, stub):
    clients = []

    def factory():
        if not clients:
            clients.append(graph.GraphClient(stub.url, token))
        return clients[0]

    monkeypatch.setattr(graph, "default_graph", factory)
    return clients


async def run_deployment(lifecycle, function_app, **config):
    body = {
        "workload": "m365-knowledge-worker",
        "config": {"work_hours_start": 0, "work_hours_end": 24, **config},
    }
    record = await lifecycle.create(DeploymentConfig.model_validate(body))
    orchestration = InlineOrchestration(
        function_app,
        ORCHESTRATOR,
        record.deployment_id,
        RunInput(deployment_id=record.deployment_id, run_id="r1").to_payload(),
    )
    return record.deployment_id, orchestration


async def test_setup_and_cleanup_touch_exactly_this_deployments_users(
    lifecycle, stores, function_app, graph_stub, monkeypatch
):
    clients = use_graph(monkeypatch, graph_stub)
    bystander = {"id": "bystander", "userPrincipalName": "someone-else@contoso.com"}
    graph_stub.users["bystander"] = bystander
    dep, orch = await run_deployment(
        lifecycle,
        function_app,
        workers=10,
        batch_size=4,
        dry_run=False,
        tenant_domain="contoso.com",
        duration_hours=0.0003,
        cycle_seconds=0.05,
    )
    await orch.run_to_completion()
    created = [u for u in graph_stub.users.values() if u["id"] != "bystander"]
    assert sorted(u["userPrincipalName"] for u in created) == sorted(
        w.upn for w in roster(dep, 10, ALL, "contoso.com")
    )
    passwords = [u["passwordProfile"]["password"] for u in created]
    record = await stores.deployments.get(dep)
    assert record.state.status == DeploymentStatus.COMPLETED
    lines = [e.message for e in await stores.logs.read(dep, total=record.progress.log_count)]
    resources = (await stores.resources.page(dep, limit=100)).items
    stored = (
        json.dumps([r.model_dump() for r in resources])
        + json.dumps(record.state.model_dump(mode="json"))
        + "".join(lines)
    )
    assert not any(password in stored for password in passwords), "a password was kept"

    failing = created[0]["id"]
    graph_stub.failing_deletes.add(failing)
    await lifecycle.command(dep, Command.CLEANUP)
    cleanup = InlineOrchestration(
        function_app, ORCHESTRATOR, dep, RunInput(deployment_id=dep, run_id="r2").to_payload()
    )
    await cleanup.run_to_completion()
    report = cleanup.output["report"]
    assert report["resources_deleted"] == 9
    assert report["resources_failed"] == 1
    assert failing in report["errors"][0] or created[0]["userPrincipalName"] in report["errors"][0]
    assert sorted(graph_stub.users) == sorted(["bystander", failing])  # the bystander is untouched
    deleted = [c.path for c in graph_stub.calls if c.method == "DELETE"]
    assert len(deleted) == 10
    assert (await stores.deployments.get(dep)).state.status == DeploymentStatus.FAILED
    await clients[0].close()


async def test_dry_run_makes_no_graph_calls(
    lifecycle, stores, function_app, graph_stub, monkeypatch
):
    use_graph(monkeypatch, graph_stub)
    dep, orch = await run_deployment(
        lifecycle, function_app, workers=6, duration_hours=0.0003, cycle_seconds=0.05
    )
    await orch.run_to_completion()
    await lifecycle.command(dep, Command.CLEANUP)
    cleanup = InlineOrchestration(
        function_app, ORCHESTRATOR, dep, RunInput(deployment_id=dep, run_id="r2").to_payload()
    )
    await cleanup.run_to_completion()
    assert cleanup.output["report"]["resources_deleted"] == 6
    assert graph_stub.calls == []


# -- durably, on the local host --------------------------------------------------------------


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


async def state_of(api, dep):
    async with api.get(f"/api/deployments/{dep}") as response:
        return await response.json()


async def until(api, dep, check, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        state = await state_of(api, dep)
        if check(state):
            return state
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.1)


async def test_a_simulation_runs_stops_resumes_and_cleans_up_with_a_bounded_history(host):
    config = {
        "workers": 10,
        "cycle_seconds": 0.2,
        "work_hours_start": 0,
        "work_hours_end": 24,
        "duration_hours": 1,
    }
    async with aiohttp.ClientSession(base_url=host.url) as api:
        async with api.post(
            "/api/deployments", json={"workload": "m365-knowledge-worker", "config": config}
        ) as response:
            dep = (await response.json())["deployment_id"]
        running = await until(api, dep, lambda s: s["metadata"].get("cycles", 0) >= 5)
        assert running["metadata"]["workers"] == 10
        async with api.post(f"/api/deployments/{dep}/stop") as response:
            assert response.status == 202
        stopped = await until(api, dep, lambda s: s["status"] == "stopped")
        await asyncio.sleep(1)
        assert (await state_of(api, dep))["metadata"]["cycles"] == stopped["metadata"]["cycles"]
        async with api.post(f"/api/deployments/{dep}/start") as response:
            assert response.status == 202
        # 25 more cycles: two steps each cross the 40-step generation limit at least once
        resumed = await until(
            api, dep, lambda s: s["metadata"]["cycles"] >= stopped["metadata"]["cycles"] + 25
        )
        metadata = resumed["metadata"]
        assert sum(metadata["activity_counts"].values()) > 0
        assert metadata["emails_template"] == metadata["activity_counts"]["email"]
        assert set(metadata["department_counts"]) <= set(ALL)
        async with api.get(
            f"/runtime/webhooks/durabletask/instances/{dep}?showHistory=true"
        ) as response:
            status = await response.json()
        assert status["runtimeStatus"] == "Running"
        assert len(status["historyEvents"]) <= 200
        assert status["input"]["generation"] >= 1  # it has continued as new
        async with api.post(f"/api/deployments/{dep}/cleanup") as response:
            assert response.status == 202
        final = await until(
            api,
            dep,
            lambda s: (
                s["status"] in ("completed", "failed") and s["desired_status"] != "cleaning_up"
            ),
        )
        assert final["status"] == "completed"
        assert final["metadata"]["cleanup"]["resources_deleted"] == 10
