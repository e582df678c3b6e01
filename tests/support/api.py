"""Calling the HTTP API of a running host from tests: requests, problem checks, waits."""

import asyncio
import time

PROBLEM = "application/problem+json"


async def call(api, method, path, **kwargs):
    async with api.request(method, path, **kwargs) as response:
        text = await response.text()
        body = None
        if text and response.content_type in ("application/json", PROBLEM):
            body = await response.json(content_type=None)
        return response.status, body, response


async def expect_problem(api, method, path, status, **kwargs):
    code, body, response = await call(api, method, path, **kwargs)
    assert code == status, body
    assert response.content_type == PROBLEM
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def deploy(api, headers=None, **config):
    body = {"workload": "data-collector", "config": {"item_delay_ms": 0, **config}}
    code, accepted, response = await call(
        api, "POST", "/api/deployments", json=body, headers=headers
    )
    assert code == 202, accepted
    assert response.headers["Location"] == accepted["status_url"]
    assert accepted["status"] == "pending"
    return accepted["deployment_id"]


async def state(api, deployment_id):
    code, body, _ = await call(api, "GET", f"/api/deployments/{deployment_id}")
    assert code == 200, body
    return body


async def wait_for(api, deployment_id, *values, seconds=60.0, field="status"):
    """The deployment's state once its `field` (status, or e.g. phase) is one of `values`."""
    deadline = time.monotonic() + seconds
    while True:
        current = await state(api, deployment_id)
        if current[field] in values:
            return current
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.05)


async def all_logs(api, deployment_id):
    code, body, _ = await call(api, "GET", f"/api/deployments/{deployment_id}/logs")
    assert code == 200
    return [entry["message"] for entry in body["items"]]
