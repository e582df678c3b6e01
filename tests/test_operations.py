"""What operators rely on, on a live host: app roles from the App Service principal header,
per-caller deploy rate limits, retention (the timer sweep and DELETE), the metrics summary,
and structured log lines."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest

from tests.support.api import PROBLEM, call, deploy, expect_problem, wait_for
from tests.support.host import HostProcess

RATE_LIMIT = 3
SLOW = {"item_count": 400, "batch_size": 5, "item_delay_ms": 20}


@pytest.fixture(scope="module")
def host(storage_connection):
    process = HostProcess(
        storage_connection,
        env={
            "HAYMAKER_AUTH_MODE": "easyauth",
            "HAYMAKER_DEPLOY_RATE_LIMIT": str(RATE_LIMIT),
            # Everything finished before the sweep runs is old enough to purge.
            "HAYMAKER_RETENTION_DAYS": "0",
        },
    ).start()
    yield process
    process.stop()


@pytest.fixture
async def api(host):
    """Signed in as an admin unless a test sends a principal of its own (or NOT_SIGNED_IN)."""
    import aiohttp

    admin = signed_in("Haymaker.Admin", name="ops@contoso.example")
    async with aiohttp.ClientSession(base_url=host.url, headers=admin) as session:
        yield session


NOT_SIGNED_IN = {"x-ms-client-principal": ""}  # empty reads as none; replaces the default


def signed_in(*roles: str, name: str | None = None) -> dict[str, str]:
    """The header App Service authentication adds for a caller signed in with Entra ID."""
    claims = [{"typ": "name", "val": name or f"user-{uuid.uuid4().hex[:8]}@contoso.example"}]
    claims += [{"typ": "roles", "val": role} for role in roles]
    principal = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(principal).encode()).decode()}


async def deploy_new(api, **config) -> str:
    """Deploy as a caller of its own, so rate limits of other tests do not apply."""
    return await deploy(api, headers=signed_in("Haymaker.Operator"), **config)


BODY = {"workload": "data-collector", "config": {"item_count": 3, "item_delay_ms": 0}}
SCHEDULE = {**BODY, "cron": "0 0 3 * * *", "enabled": False}


# -- roles -----------------------------------------------------------------------------------


async def test_a_reader_reads_but_cannot_deploy(api):
    reader = signed_in("Haymaker.Reader")
    code, _, _ = await call(api, "GET", "/api/deployments", headers=reader)
    assert code == 200
    code, _, _ = await call(api, "GET", "/api/metrics", headers=reader)
    assert code == 200
    problem = await expect_problem(api, "POST", "/api/deployments", 403, json=BODY, headers=reader)
    assert "Haymaker.Operator" in problem["detail"]


async def test_an_operator_runs_deployments_but_not_schedules_or_purges(api):
    operator = signed_in("Haymaker.Operator")
    code, accepted, _ = await call(api, "POST", "/api/deployments", json=BODY, headers=operator)
    assert code == 202, accepted
    deployment_id = accepted["deployment_id"]
    await wait_for(api, deployment_id, "completed")
    code, _, _ = await call(api, "GET", f"/api/deployments/{deployment_id}", headers=operator)
    assert code == 200
    await expect_problem(api, "POST", "/api/schedules", 403, json=SCHEDULE, headers=operator)
    problem = await expect_problem(
        api, "DELETE", f"/api/deployments/{deployment_id}", 403, headers=operator
    )
    assert "Haymaker.Admin" in problem["detail"]


async def test_an_admin_may_do_everything(api):
    admin = signed_in("Haymaker.Admin")
    code, created, _ = await call(api, "POST", "/api/schedules", json=SCHEDULE, headers=admin)
    assert code == 201, created
    code, _, _ = await call(
        api, "DELETE", f"/api/schedules/{created['schedule_id']}", headers=admin
    )
    assert code == 200
    code, _, _ = await call(api, "POST", "/api/deployments", json=BODY, headers=admin)
    assert code == 202


async def test_no_role_may_not_even_read(api):
    await expect_problem(api, "GET", "/api/deployments", 403, headers=signed_in())


async def test_a_caller_who_is_not_signed_in_is_asked_to_sign_in_whatever_key_it_sends(api):
    """The host grants no key level to a signed-in caller, so with App Service
    authentication the routes are anonymous to it and the principal is the credential."""
    for headers in ({}, {"x-functions-key": "any"}):
        problem = await expect_problem(
            api,
            "POST",
            "/api/schedules",
            401,
            json=SCHEDULE,
            headers={**NOT_SIGNED_IN, **headers},
        )
        assert "sign in with Microsoft Entra ID" in problem["detail"]
    code, _, response = await call(api, "GET", "/api/deployments", headers=NOT_SIGNED_IN)
    assert code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="haymaker"')
    assert 'sign_in="/.auth/login/aad"' in response.headers["WWW-Authenticate"]
    code, _, _ = await call(api, "GET", "/api/health", headers=NOT_SIGNED_IN)
    assert code == 200  # anonymous operations stay anonymous


async def test_an_unreadable_principal_is_a_bad_request(api):
    headers = {"x-ms-client-principal": "not base64 json"}
    await expect_problem(api, "GET", "/api/deployments", 400, headers=headers)


# -- rate limits -----------------------------------------------------------------------------


async def test_deploys_beyond_the_limit_get_429_with_retry_after(api):
    caller = signed_in("Haymaker.Operator")
    for _ in range(RATE_LIMIT):
        code, body, _ = await call(api, "POST", "/api/deployments", json=BODY, headers=caller)
        assert code == 202, body
    code, problem, response = await call(api, "POST", "/api/deployments", json=BODY, headers=caller)
    assert code == 429, problem
    assert response.content_type == PROBLEM
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert f"at most {RATE_LIMIT}" in problem["detail"]
    # Another caller has a budget of its own; reads are never limited.
    other = signed_in("Haymaker.Operator")
    code, _, _ = await call(api, "POST", "/api/deployments", json=BODY, headers=other)
    assert code == 202
    code, _, _ = await call(api, "GET", "/api/deployments", headers=caller)
    assert code == 200


# -- retention -------------------------------------------------------------------------------


async def test_delete_purges_a_finished_deployment_and_refuses_a_live_one(api, host):
    admin = signed_in("Haymaker.Admin")
    finished = await deploy_new(api, item_count=5)
    await wait_for(api, finished, "completed")
    live = await deploy_new(api, **SLOW)
    await wait_for(api, live, "running")

    code, purged, _ = await call(api, "DELETE", f"/api/deployments/{finished}", headers=admin)
    assert code == 200, purged
    assert purged["log_lines"] > 0
    assert purged["resource_records"] == 5
    await expect_problem(api, "GET", f"/api/deployments/{finished}", 404)
    await expect_problem(api, "GET", f"/api/deployments/{finished}/logs", 404)
    code, _, _ = await call(api, "GET", f"/runtime/webhooks/durabletask/instances/{finished}")
    assert code == 404
    await expect_problem(api, "DELETE", f"/api/deployments/{finished}", 404, headers=admin)

    problem = await expect_problem(api, "DELETE", f"/api/deployments/{live}", 409, headers=admin)
    assert "running" in problem["detail"]
    code, _, _ = await call(api, "POST", f"/api/deployments/{live}/cleanup")
    assert code == 202
    await wait_for(api, live, "completed")


async def test_the_retention_timer_purges_what_finished_before_the_cutoff(api, host):
    finished = [await deploy_new(api, item_count=4) for _ in range(3)]
    for deployment_id in finished:
        await wait_for(api, deployment_id, "completed")
    live = await deploy_new(api, **SLOW)
    await wait_for(api, live, "running")

    code, _, _ = await call(api, "POST", "/admin/functions/retention_sweep")
    assert code == 202
    for deployment_id in finished:
        await expect_problem(api, "GET", f"/api/deployments/{deployment_id}", 404)
        code, _, _ = await call(
            api, "GET", f"/runtime/webhooks/durabletask/instances/{deployment_id}"
        )
        assert code == 404
    code, state, _ = await call(api, "GET", f"/api/deployments/{live}")
    assert code == 200
    assert state["status"] == "running"
    assert re.search(r"retention sweep: purged \d+ deployments", host.log())
    await call(api, "POST", f"/api/deployments/{live}/cleanup")
    await wait_for(api, live, "completed")


# -- metrics and logs ------------------------------------------------------------------------


async def test_metrics_count_deployments_by_status_and_workload(api):
    code, before, _ = await call(api, "GET", "/api/metrics")
    assert code == 200
    deployment_id = await deploy_new(api, item_count=2)
    await wait_for(api, deployment_id, "completed")
    code, after, _ = await call(api, "GET", "/api/metrics")
    deployments = after["deployments"]
    assert deployments["total"] == before["deployments"]["total"] + 1
    assert sum(deployments["by_status"].values()) == deployments["total"]
    assert sum(deployments["by_workload"].values()) == deployments["total"]
    assert deployments["by_status"]["completed"] >= 1
    assert deployments["by_workload"]["data-collector"] >= 1
    assert "total" in after["schedules"]


async def test_every_step_log_line_names_its_deployment_instance_and_phase(api, host):
    deployment_id = await deploy_new(api, item_count=3)
    await wait_for(api, deployment_id, "completed")
    lines = [line for line in host.log().splitlines() if deployment_id in line]
    step_lines = [line for line in lines if "haymaker.execution" in line]
    assert step_lines
    for line in step_lines:
        assert f"[deployment_id={deployment_id} instance_id={deployment_id} phase=" in line, line


# -- a malformed setting ---------------------------------------------------------------------


async def test_a_malformed_setting_is_a_503_naming_it_and_health_reports_it(storage_connection):
    """The host starts; every keyed endpoint answers 503 naming the setting (never a 500),
    and the anonymous health check says the service is degraded, and why."""
    import aiohttp

    setting = "HAYMAKER_DEPLOY_RATE_LIMIT"
    process = HostProcess(storage_connection, env={setting: "lots"}).start()
    try:
        async with aiohttp.ClientSession(base_url=process.url) as api:
            for method, path, body in [
                ("GET", "/api/deployments", None),
                ("POST", "/api/deployments", BODY),
                ("GET", "/api/workloads", None),
                ("GET", "/api/schedules/sch-0123456789", None),
            ]:
                problem = await expect_problem(api, method, path, 503, json=body)
                assert problem["title"] == "Service misconfigured"
                assert setting in problem["detail"]
            code, health, response = await call(api, "GET", "/api/health")
            assert code == 503
            assert response.content_type == "application/json"
            assert health["status"] == "degraded"
            assert health["settings"].startswith(f"{setting}: ")
            assert response.headers["Retry-After"]
    finally:
        process.stop()
    assert "unhandled error" not in process.log()  # the path to a 500 was never taken


async def test_the_document_asks_for_an_entra_id_token_in_this_mode(api):
    code, document, _ = await call(api, "GET", "/api/openapi.json", headers=NOT_SIGNED_IN)
    assert code == 200
    assert document["security"] == [{"entraId": []}]
    assert document["components"]["securitySchemes"]["entraId"]["scheme"] == "bearer"


def test_the_cli_without_a_token_is_told_how_to_sign_in(run, monkeypatch):
    monkeypatch.setenv("HAYMAKER_KEY", "a-key-this-mode-does-not-use")
    result = run("list")
    assert result.exit_code == 1, result.output
    assert "Sign-in required" in result.output
    assert "hint: this app signs callers in with Entra ID: give the profile --entra-scope" in (
        " ".join(result.output.split())
    )
