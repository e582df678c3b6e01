"""kill -9 of the local host while a deployment waits for a decision, and while a decision is
being applied: after a restart exactly one decision is applied and the deployment finishes."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from haymaker.approval_flow import ApprovalFlow
from haymaker.approvals import DecisionRequest
from haymaker.clock import utc_now
from haymaker.settings import StorageSettings
from haymaker.store import Stores
from haymaker.store.tables import Tables
from tests.support.api import all_logs, call, deploy, state, wait_for
from tests.support.host import HostProcess


def restarted(host: HostProcess, storage: str) -> HostProcess:
    return HostProcess(
        storage, port=host.port, table_prefix=host.table_prefix, task_hub=host.task_hub
    ).start()


async def asking(api) -> str:
    deployment_id = await deploy(api, item_count=20, approve_before_report=True)
    deadline = time.monotonic() + 60
    while (await state(api, deployment_id))["awaiting_approval"] is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    return deployment_id


async def decide(api, deployment_id: str, decision: str = "approve"):
    return await call(
        api,
        "POST",
        f"/api/deployments/{deployment_id}/approvals/report",
        json={"decision": decision},
    )


async def finished_once(api, deployment_id: str, decision: str) -> None:
    final = await wait_for(api, deployment_id, "completed", "failed", seconds=60)
    assert final["status"] == "completed", final
    assert final["metadata"]["report_approved"] is (decision == "approve")
    lines = await all_logs(api, deployment_id)
    assert [line for line in lines if line.startswith("Approval report: ")] == [
        f"Approval report: {decision} by anonymous"
    ]
    assert lines.count("Items collected: 20") == (1 if decision == "approve" else 0)
    assert lines.count("Deployment completed after 5 steps") == 1


async def test_kill_9_while_waiting_then_a_decision_after_restart(storage_connection):
    host = HostProcess(storage_connection).start()
    async with aiohttp.ClientSession(base_url=host.url) as api:
        deployment_id = await asking(api)
    host.kill()
    again = restarted(host, storage_connection)
    try:
        assert "recovered 1 live orchestration instance(s)" in again.log()
        async with aiohttp.ClientSession(base_url=again.url) as api:
            assert (await state(api, deployment_id))["awaiting_approval"]["key"] == "report"
            code, _, _ = await decide(api, deployment_id)
            assert code == 200
            await finished_once(api, deployment_id, "approve")
    finally:
        again.stop()


async def test_kill_9_as_a_decision_is_applied_then_restart(storage_connection):
    host = HostProcess(storage_connection).start()
    async with aiohttp.ClientSession(base_url=host.url) as api:
        deployment_id = await asking(api)
        code, _, _ = await decide(api, deployment_id, "reject")
        assert code == 200
        host.kill()  # the doorbell rang; the orchestration is applying it, or about to
    again = restarted(host, storage_connection)
    try:
        async with aiohttp.ClientSession(base_url=again.url) as api:
            await finished_once(api, deployment_id, "reject")
    finally:
        again.stop()


async def test_a_decision_whose_doorbell_was_lost_is_applied_when_sent_again(
    storage_connection,
):
    """The decision's row was written and the host died before ringing the doorbell: the
    deployment still waits; the approver's retry (a 409 naming the decision) rings it."""
    host = HostProcess(storage_connection).start()
    async with aiohttp.ClientSession(base_url=host.url) as api:
        deployment_id = await asking(api)
    host.kill()
    tables = Tables(
        StorageSettings(connection_string=storage_connection, table_prefix=host.table_prefix)
    )
    try:
        flow = ApprovalFlow(Stores(tables), utc_now)
        await flow.decide(deployment_id, "report", DecisionRequest(decision="approve"), "anonymous")
    finally:
        await tables.close()
    again = restarted(host, storage_connection)
    try:
        async with aiohttp.ClientSession(base_url=again.url) as api:
            assert (await state(api, deployment_id))["awaiting_approval"]["key"] == "report"
            code, problem, _ = await decide(api, deployment_id, "reject")
            assert code == 409, problem
            assert "already decided: approve by anonymous" in problem["detail"]
            await finished_once(api, deployment_id, "approve")
    finally:
        again.stop()
