"""The Haymaker.Approver role on a live host with App Service authentication: approvers (and
admins) decide, operators and readers do not; everyone with a role reads; the decision
records who made it, by the principal's name. The host has a function key, which this mode
does not use: a caller without a principal is asked to sign in, key or not."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.api import call, deploy, expect_problem
from tests.support.host import HostProcess
from tests.test_operations import signed_in

KEY = "approvals-auth-key"


@pytest.fixture(scope="module")
def host(storage_connection):
    process = HostProcess(
        storage_connection, function_key=KEY, env={"HAYMAKER_AUTH_MODE": "easyauth"}
    ).start()
    yield process
    process.stop()


def keyed(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"x-functions-key": KEY, **(headers or {})}


async def asking(api) -> str:
    operator = keyed(signed_in("Haymaker.Operator"))
    deployment_id = await deploy(api, headers=operator, item_count=3, approve_before_report=True)
    deadline = time.monotonic() + 60
    while True:
        code, current, _ = await call(
            api, "GET", f"/api/deployments/{deployment_id}", headers=operator
        )
        assert code == 200, current
        if current["awaiting_approval"]:
            return deployment_id
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.05)


def decision_url(deployment_id: str) -> str:
    return f"/api/deployments/{deployment_id}/approvals/report"


async def refused_approval(api, deployment_id: str, status: int, headers: dict[str, str]):
    """The problem an approval by these credentials is refused with."""
    return await expect_problem(
        api,
        "POST",
        decision_url(deployment_id),
        status,
        json={"decision": "approve"},
        headers=headers,
    )


async def test_only_approvers_and_admins_decide_and_their_names_are_recorded(api):
    deployment_id = await asking(api)
    for role in ("Haymaker.Operator", "Haymaker.Reader"):
        problem = await refused_approval(api, deployment_id, 403, keyed(signed_in(role)))
        assert "needs the Haymaker.Approver role (or Haymaker.Admin)" in problem["detail"]
    for role in ("Haymaker.Reader", "Haymaker.Approver", "Haymaker.Operator"):
        code, page, _ = await call(api, "GET", "/api/approvals", headers=keyed(signed_in(role)))
        assert code == 200, (role, page)
    approver = keyed(signed_in("Haymaker.Approver", name="ada@contoso.example"))
    code, approval, _ = await call(
        api, "POST", decision_url(deployment_id), json={"decision": "approve"}, headers=approver
    )
    assert code == 200, approval
    assert approval["decision"]["decided_by"] == "ada@contoso.example"
    # An approver alone may not run deployments.
    await expect_problem(
        api, "POST", f"/api/deployments/{deployment_id}/stop", 403, headers=approver
    )
    final = await wait_for_keyed(api, deployment_id)
    assert final["metadata"]["report_approved"] is True

    admin_case = await asking(api)
    admin = keyed(signed_in("Haymaker.Admin", name="root@contoso.example"))
    code, approval, _ = await call(
        api, "POST", decision_url(admin_case), json={"decision": "reject"}, headers=admin
    )
    assert code == 200, approval
    assert approval["decision"]["decided_by"] == "root@contoso.example"


async def test_a_function_key_alone_decides_nothing(api):
    deployment_id = await asking(api)
    for headers in (keyed(), {}):
        problem = await refused_approval(api, deployment_id, 401, headers)
        assert "sign in" in problem["detail"]
    [approval] = (
        await call(
            api,
            "GET",
            f"/api/deployments/{deployment_id}/approvals",
            headers=keyed(signed_in("Haymaker.Reader")),
        )
    )[1]["items"]
    assert approval["status"] == "pending"


async def wait_for_keyed(api, deployment_id: str):
    """The finished state (this host wants a principal on every call)."""
    deadline = time.monotonic() + 60
    while True:
        code, body, _ = await call(
            api, "GET", f"/api/deployments/{deployment_id}", headers=signed_in("Haymaker.Reader")
        )
        assert code == 200, body
        if body["status"] in ("completed", "failed"):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)
