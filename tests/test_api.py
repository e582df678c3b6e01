"""The HTTP API of the real app, served by the local host with its real durable client
binding and Azurite state: every route's success and error statuses, and the lifecycle."""

import asyncio
from collections import Counter

import pytest

from tests.support.api import all_logs, call, deploy, expect_problem, state, wait_for


@pytest.fixture(scope="module")
def host(app_host):
    return app_host


# -- lifecycle end to end ------------------------------------------------------------------


async def test_deploy_runs_to_completed(api):
    deployment_id = await deploy(api, item_count=40)
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["status"] == "completed"
    assert final["metadata"]["items_collected"] == 40
    assert final["metadata"]["goal_achieved"] is True
    assert final["config"]["item_count"] == 40
    lines = await all_logs(api, deployment_id)
    assert lines[0].startswith("Deployment of data-collector")
    assert sum(line.startswith("Collected item") for line in lines) == 40


async def test_stop_holds_then_start_finishes(api):
    deployment_id = await deploy(api, item_count=300, batch_size=5, item_delay_ms=20)
    await wait_for(api, deployment_id, "running")
    code, body, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
    assert code == 202
    assert body["desired_status"] == "stopped"
    stopped = await wait_for(api, deployment_id, "stopped")
    held = stopped["metadata"]["items_collected"]
    await asyncio.sleep(0.5)
    assert (await state(api, deployment_id))["metadata"]["items_collected"] == held
    code, body, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
    assert code == 200  # already stopped: nothing to do
    code, body, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/start")
    assert code == 202
    final = await wait_for(api, deployment_id, "completed")
    assert final["metadata"]["items_collected"] == 300
    items = Counter(
        line for line in await all_logs(api, deployment_id) if line.startswith("Collected")
    )
    assert len(items) == 300
    assert set(items.values()) == {1}


async def test_cleanup_deletes_what_was_collected(api):
    deployment_id = await deploy(api, item_count=500, batch_size=5, item_delay_ms=20)
    await wait_for(api, deployment_id, "running")
    await asyncio.sleep(0.3)
    await call(api, "POST", f"/api/deployments/{deployment_id}/stop")
    stopped = await wait_for(api, deployment_id, "stopped")
    collected = stopped["metadata"]["items_collected"]
    code, preview, _ = await call(
        api, "POST", f"/api/deployments/{deployment_id}/cleanup?dry_run=true"
    )
    assert code == 200
    assert preview["dry_run"] is True
    assert len(preview["would_delete"]) == collected
    assert (await state(api, deployment_id))["status"] == "stopped"  # a dry run changes nothing
    code, _body, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
    assert code == 202
    final = await wait_for(api, deployment_id, "completed", "failed")
    assert final["phase"] == "cleaned_up"
    assert final["metadata"]["cleanup"]["resources_deleted"] == collected
    assert final["metadata"]["cleanup"]["resources_failed"] == 0
    code, preview, _ = await call(
        api, "POST", f"/api/deployments/{deployment_id}/cleanup?dry_run=true"
    )
    assert preview["would_delete"] == []


async def test_cleanup_of_a_finished_deployment_starts_a_new_run(api):
    deployment_id = await deploy(api, item_count=12)
    await wait_for(api, deployment_id, "completed")
    code, _, _ = await call(api, "POST", f"/api/deployments/{deployment_id}/cleanup")
    assert code == 202
    final = await wait_for(api, deployment_id, "completed")
    for _ in range(100):
        final = await state(api, deployment_id)
        if final["phase"] == "cleaned_up":
            break
        await asyncio.sleep(0.05)
    assert final["phase"] == "cleaned_up"
    assert final["metadata"]["cleanup"]["resources_deleted"] == 12


async def test_list_filters_and_pages(api):
    ids = {await deploy(api, item_count=1) for _ in range(5)}
    for deployment_id in ids:
        await wait_for(api, deployment_id, "completed")
    seen, token = [], None
    while True:
        params = {
            "workload": "data-collector",
            "limit": "2",
            **({"continuation": token} if token else {}),
        }
        code, page, _ = await call(api, "GET", "/api/deployments", params=params)
        assert code == 200
        assert len(page["items"]) <= 2
        seen += [item["deployment_id"] for item in page["items"]]
        token = page["continuation"]
        if not token:
            break
    assert ids <= set(seen)
    assert len(seen) == len(set(seen))
    code, page, _ = await call(api, "GET", "/api/deployments", params={"status": "failed"})
    assert code == 200
    assert not ids & {item["deployment_id"] for item in page["items"]}


async def test_logs_tail_and_after(api):
    deployment_id = await deploy(api, item_count=20)
    await wait_for(api, deployment_id, "completed")
    code, page, _ = await call(
        api, "GET", f"/api/deployments/{deployment_id}/logs", params={"tail": "3"}
    )
    assert code == 200
    assert [e["line"] for e in page["items"]] == list(range(page["total"] - 3, page["total"]))
    code, page, _ = await call(
        api, "GET", f"/api/deployments/{deployment_id}/logs", params={"after": "4", "limit": "2"}
    )
    assert [e["line"] for e in page["items"]] == [5, 6]
    assert page["cursor"] == 6


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'"a string"', 400),
        (b'{"workload": "no-such-workload"}', 404),
        (b'{"workload": "data-collector", "config": {"item_count": 0}}', 422),
        (b'{"workload": "data-collector", "config": {"item_count": "lots"}}', 422),
        (b'{"workload": "data-collector", "config": {"itemcount": 5}}', 422),
        (b'{"workload": "data-collector", "config": [1]}', 422),
        (b'{"workload": "data-collector", "duration_hours": -1}', 422),
        (b'{"workload": "data-collector", "colour": "red"}', 422),
        (b'{"workload": "Bad Name"}', 422),
        (b'{"config": {}}', 422),
    ],
)
async def test_bad_deploy_requests(api, body, status):
    problem = await expect_problem(
        api,
        "POST",
        "/api/deployments",
        status,
        data=body,
        headers={"Content-Type": "application/json"},
    )
    if status == 422 and b"itemcount" in body:
        expected = "unknown key; did you mean `item_count`?"
        assert problem["errors"] == [{"key": "itemcount", "message": expected}]


async def test_config_errors_name_the_key(api):
    problem = await expect_problem(
        api,
        "POST",
        "/api/deployments",
        422,
        json={"workload": "data-collector", "config": {"item_count": 5000}},
    )
    assert problem["errors"][0]["key"] == "item_count"
    assert "item_count" in problem["detail"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/deployments/data-collector-0000000000", 404),
        ("GET", "/api/deployments/Not_Valid", 400),
        ("GET", "/api/deployments/data-collector-0000000000/logs", 404),
        ("POST", "/api/deployments/data-collector-0000000000/stop", 404),
        ("POST", "/api/deployments/data-collector-0000000000/start", 404),
        ("POST", "/api/deployments/data-collector-0000000000/cleanup", 404),
        ("POST", "/api/deployments/data-collector-0000000000/cleanup?dry_run=true", 404),
        ("POST", "/api/deployments/data-collector-0000000000/explode", 404),
        ("GET", "/api/deployments?status=sleeping", 400),
        ("GET", "/api/deployments?limit=0", 400),
        ("GET", "/api/deployments?limit=abc", 400),
        ("GET", "/api/deployments?workload=UPPER", 400),
        ("GET", "/api/deployments?continuation=%25%25%25", 400),
        ("GET", "/api/workloads/no-such-workload", 404),
        ("GET", "/api/workloads/BAD!", 400),
    ],
)
async def test_error_statuses(api, method, path, status):
    await expect_problem(api, method, path, status)


async def test_illegal_commands_are_conflicts(api):
    deployment_id = await deploy(api, item_count=2)
    await wait_for(api, deployment_id, "completed")
    for command in ("stop", "start"):
        problem = await expect_problem(
            api, "POST", f"/api/deployments/{deployment_id}/{command}", 409
        )
        assert "completed" in problem["detail"]
    await expect_problem(
        api, "GET", f"/api/deployments/{deployment_id}/logs", 400, params={"tail": "-1"}
    )
    await expect_problem(
        api, "POST", f"/api/deployments/{deployment_id}/cleanup", 400, params={"dry_run": "maybe"}
    )


# -- catalogue and service -----------------------------------------------------------------


async def test_workloads(api):
    code, body, _ = await call(api, "GET", "/api/workloads")
    assert code == 200
    assert "data-collector" in [item["name"] for item in body["items"]]
    code, manifest, _ = await call(api, "GET", "/api/workloads/data-collector")
    assert code == 200
    assert manifest["config_schema"]["item_count"] == {
        "type": "integer",
        "description": "Number of items to collect",
        "default": 10,
        "required": False,
        "min": 1.0,
        "max": 1000.0,
    }
    assert manifest["phases"] == ["initialize", "collecting", "report"]


async def test_health_and_openapi(api, host):
    code, health, _ = await call(api, "GET", "/api/health")
    assert code == 200
    assert health["status"] == "ok"
    code, document, _ = await call(api, "GET", "/api/openapi.json")
    assert code == 200
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": f"{host.url}/api"}]
    paths = document["paths"]
    expected = {
        ("/health", "get"),
        ("/openapi.json", "get"),
        ("/deployments", "get"),
        ("/deployments", "post"),
        ("/deployments/{deployment_id}", "get"),
        ("/deployments/{deployment_id}/logs", "get"),
        ("/deployments/{deployment_id}/transcript", "get"),
        ("/deployments/{deployment_id}/stop", "post"),
        ("/deployments/{deployment_id}/start", "post"),
        ("/deployments/{deployment_id}/cleanup", "post"),
        ("/workloads", "get"),
        ("/workloads/{name}", "get"),
        ("/schedules", "get"),
        ("/schedules", "post"),
        ("/schedules/{schedule_id}", "get"),
        ("/schedules/{schedule_id}", "patch"),
        ("/schedules/{schedule_id}", "delete"),
        ("/schedules/{schedule_id}/trigger", "post"),
        ("/services", "get"),
        ("/services", "post"),
        ("/services/{service_name}", "get"),
        ("/services/{service_name}", "delete"),
        ("/deployments/{deployment_id}", "delete"),
        ("/metrics", "get"),
        ("/me", "get"),
        ("/deployments/{deployment_id}/steps", "get"),
        ("/deployments/{deployment_id}/resources", "get"),
        ("/approvals", "get"),
        ("/deployments/{deployment_id}/approvals", "get"),
        ("/deployments/{deployment_id}/approvals/{key}", "post"),
        ("/events", "get"),
        ("/subscriptions", "get"),
        ("/subscriptions", "post"),
        ("/subscriptions/{subscription_id}", "get"),
        ("/subscriptions/{subscription_id}", "delete"),
        ("/subscriptions/{subscription_id}/dead-letters", "get"),
    }
    assert {(path, method) for path, item in paths.items() for method in item} == expected
    for schema in ("DeploymentState", "DeploymentConfig", "Problem", "LogEntry", "CleanupPreview"):
        assert schema in document["components"]["schemas"]


async def test_the_document_lists_every_parameter_and_status_each_operation_declares(
    api, function_app
):
    """The served document against the declarations in this process: every query model field
    and path parameter an operation's handler can read is a parameter of that operation, and
    every success and problem status it can answer is documented (the old hand-written
    document missed `schedule_id` on GET /deployments)."""
    from api.openapi import problem_statuses
    from api.operation import registered_operations

    code, document, _ = await call(api, "GET", "/api/openapi.json")
    assert code == 200
    operations = registered_operations()
    assert len(operations) == sum(len(item) for item in document["paths"].values())
    for operation in operations:
        documented = document["paths"][f"/{operation.route}"][operation.method.lower()]
        assert documented["operationId"] == operation.operation_id
        parameters = {(p["in"], p["name"]) for p in documented.get("parameters", [])}
        declared = {("path", name) for name in operation.path}
        if operation.query_model is not None:
            declared |= {("query", name) for name in operation.query_model.model_fields}
        assert parameters == declared, operation.operation_id
        statuses = {*operation.responses, *problem_statuses(operation)}
        assert {int(status) for status in documented["responses"]} == statuses
        assert ("requestBody" in documented) == (operation.body is not None)
    listed = document["paths"]["/deployments"]["get"]["parameters"]
    assert {p["name"] for p in listed} >= {"workload", "status", "schedule_id", "limit"}
    schedule = next(p for p in listed if p["name"] == "schedule_id")
    from haymaker.schedules.models import SCHEDULE_ID_PATTERN

    assert schedule["schema"] == {"type": "string", "pattern": SCHEDULE_ID_PATTERN}


async def test_list_by_schedule_and_malformed_query_values_name_the_parameter(api):
    code, page, _ = await call(
        api, "GET", "/api/deployments", params={"schedule_id": "sch-0123456789"}
    )
    assert code == 200
    assert page["items"] == []
    problem = await expect_problem(
        api, "GET", "/api/deployments", 400, params={"schedule_id": "weekly"}
    )
    assert problem["errors"][0]["key"] == "schedule_id"
    assert "schedule_id" in problem["detail"]
    problem = await expect_problem(
        api, "GET", "/api/deployments/data-collector-x/logs", 400, params={"tail": "lots"}
    )
    assert "query parameter tail" in problem["detail"]
    problem = await expect_problem(api, "GET", "/api/deployments/Not_Valid", 400)
    assert "path parameter deployment_id" in problem["detail"]
