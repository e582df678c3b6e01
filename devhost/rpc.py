"""The Durable management API the SDK's DurableOrchestrationClient talks to (at `rpcBaseUrl`),
also served at the public /runtime/webhooks/durabletask/ paths that check-status responses
point to. Status codes and bodies follow what the SDK expects (durable-host-protocol.md §5)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost.durable_store import Instance
from devhost.engine import Engine, EngineError

RPC_PREFIX = "/durabletask"
PUBLIC_PREFIX = "/runtime/webhooks/durabletask"
RUNNING_CODES = {"Pending": 202, "Running": 202, "Suspended": 202, "ContinuedAsNew": 202}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return default
    return raw.lower() in ("true", "1")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ExceptionMessage": message, "message": message}, status=status)


def client_binding(base_url: str, task_hub: str, key: str | None) -> dict[str, Any]:
    """The `durableClient` binding value the host passes to a starter function."""
    code = f"&code={key}" if key else ""
    hub = f"taskHub={task_hub}&connection=Storage{code}"
    webhooks = f"{base_url}{PUBLIC_PREFIX}"
    instance = f"{webhooks}/instances/INSTANCEID"
    return {
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]?{hub}",
            "createAndWaitOnNewInstancePostUri": (
                f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]"
                f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{hub}"
            ),
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{hub}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{hub}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{hub}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{hub}",
            "purgeHistoryDeleteUri": f"{instance}?{hub}",
            "restartPostUri": f"{instance}/restart?{hub}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{hub}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{hub}",
        },
        "baseUrl": webhooks,
        "requiredQueryStringParameters": code.lstrip("&"),
        "rpcBaseUrl": f"{base_url}{RPC_PREFIX}/",
    }


class ManagementApi:
    def __init__(self, engine: Engine, task_hub: str, key: str | None) -> None:
        self.engine = engine
        self.task_hub = task_hub
        self.key = key

    def routes(self, prefix: str) -> list[web.RouteDef]:
        return [
            web.post(f"{prefix}/orchestrators/{{name}}", self.start),
            web.post(f"{prefix}/orchestrators/{{name}}/{{instance_id}}", self.start),
            web.get(f"{prefix}/instances", self.query),
            web.get(f"{prefix}/instances/", self.query),
            web.delete(f"{prefix}/instances/", self.purge_many),
            web.get(f"{prefix}/instances/{{instance_id}}", self.status),
            web.delete(f"{prefix}/instances/{{instance_id}}", self.purge),
            web.post(f"{prefix}/instances/{{instance_id}}/raiseEvent/{{event}}", self.raise_event),
            web.post(f"{prefix}/instances/{{instance_id}}/terminate", self.terminate),
            web.post(f"{prefix}/instances/{{instance_id}}/suspend", self.suspend),
            web.post(f"{prefix}/instances/{{instance_id}}/resume", self.resume),
        ]

    def _payload(self, request: web.Request, instance_id: str) -> dict[str, Any]:
        base = f"{request.scheme}://{request.host}"
        urls = client_binding(base, self.task_hub, self.key)["managementUrls"]
        quoted = quote(instance_id, safe="")
        return {name: url.replace("INSTANCEID", quoted) for name, url in urls.items()} | {
            "id": instance_id
        }

    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id") or _new_id()
        raw = await request.text()
        input_text: str | None = None
        if raw:
            try:
                decoded = json.loads(raw)
            except ValueError:
                return _error(400, "Only application/json request content is supported")
            # The SDK sends a JSON string holding JSON text; a raw JSON value is accepted too.
            input_text = decoded if isinstance(decoded, str) else json.dumps(decoded)
        try:
            await self.engine.start_instance(name, instance_id, input_text)
        except EngineError as exc:
            return _error(exc.status, str(exc))
        payload = self._payload(request, instance_id)
        return web.json_response(
            payload, status=202, headers={"Location": payload["statusQueryGetUri"]}
        )

    async def status(self, request: web.Request) -> web.Response:
        instance = await self.engine.get(request.match_info["instance_id"])
        if instance is None:
            return web.Response(status=404)
        body = await self._status_json(
            instance,
            show_input=_flag(request, "showInput", True),
            show_history=_flag(request, "showHistory"),
            show_history_output=_flag(request, "showHistoryOutput"),
        )
        return web.json_response(body, status=RUNNING_CODES.get(instance.status, 200))

    async def _status_json(
        self, instance: Instance, *, show_input: bool, show_history: bool, show_history_output: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": instance.name,
            "instanceId": instance.instance_id,
            "runtimeStatus": instance.status,
            "input": _value(instance.input) if show_input else None,
            "customStatus": _value(instance.custom_status),
            "output": _value(instance.output),
            "createdTime": _time(instance.created),
            "lastUpdatedTime": _time(instance.updated),
        }
        if show_history:
            events = [
                _public_event(e, show_history_output) for e in await self.engine.history(instance)
            ]
            body["historyEvents"] = body["history"] = events
        return body

    async def query(self, request: web.Request) -> web.Response:
        statuses = {s for s in request.query.get("runtimeStatus", "").split(",") if s}
        prefix = request.query.get("instanceIdPrefix", "")
        created_from = _parse_time(request.query.get("createdTimeFrom"))
        created_to = _parse_time(request.query.get("createdTimeTo"))
        instances = await self.engine.store.query()
        selected = sorted(
            (
                i
                for i in instances
                if (not statuses or i.status in statuses)
                and i.instance_id.startswith(prefix)
                and (created_from is None or i.created >= created_from)
                and (created_to is None or i.created <= created_to)
            ),
            key=lambda i: i.instance_id,
        )
        after = request.headers.get("x-ms-continuation-token")
        if after:
            selected = [i for i in selected if i.instance_id > after]
        headers = {}
        top = request.query.get("top")
        if top and top.isdigit() and len(selected) > int(top):
            selected = selected[: int(top)]
            headers["x-ms-continuation-token"] = selected[-1].instance_id
        show_input = _flag(request, "showInput", True)
        body = [
            await self._status_json(
                i, show_input=show_input, show_history=False, show_history_output=False
            )
            for i in selected
        ]
        return web.json_response(body, headers=headers)

    async def raise_event(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "Only application/json request content is supported")
        input_text = decoded if isinstance(decoded, str) or decoded is None else json.dumps(decoded)
        return await self._control(
            request,
            self.engine.raise_event(
                request.match_info["instance_id"], request.match_info["event"], input_text
            ),
        )

    async def terminate(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            self.engine.terminate(request.match_info["instance_id"], request.query.get("reason")),
        )

    async def suspend(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            self.engine.suspend(request.match_info["instance_id"], request.query.get("reason")),
        )

    async def resume(self, request: web.Request) -> web.Response:
        return await self._control(
            request,
            self.engine.resume(request.match_info["instance_id"], request.query.get("reason")),
        )

    async def _control(self, request: web.Request, operation: Any) -> web.Response:
        try:
            await operation
        except EngineError as exc:
            return _error(exc.status, str(exc))
        return web.Response(status=202)

    async def purge(self, request: web.Request) -> web.Response:
        try:
            deleted = await self.engine.purge(request.match_info["instance_id"])
        except EngineError as exc:
            return _error(exc.status, str(exc))
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def purge_many(self, request: web.Request) -> web.Response:
        created_from = _parse_time(request.query.get("createdTimeFrom"))
        if created_from is None:
            return _error(400, "createdTimeFrom is required")
        created_to = _parse_time(request.query.get("createdTimeTo"))
        statuses = {s for s in request.query.get("runtimeStatus", "").split(",") if s}
        deleted = 0
        for instance in await self.engine.store.query():
            if not instance.terminal or (statuses and instance.status not in statuses):
                continue
            if instance.created < created_from or (created_to and instance.created > created_to):
                continue
            deleted += await self.engine.purge(instance.instance_id)
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})


def _public_event(event: dict[str, Any], with_output: bool) -> dict[str, Any]:
    from devhost.replay import EventType

    public = {
        "EventType": EventType(event["EventType"]).name.title().replace("_", ""),
        "Timestamp": event["Timestamp"],
    }
    for key in ("EventId", "Name", "TaskScheduledId", "TimerId", "FireAt", "Reason"):
        if event.get(key) is not None and event.get(key) != -1:
            public[key] = event[key]
    if with_output:
        for key in ("Input", "Result", "Details"):
            if event.get(key) is not None:
                public[key] = _value(event[key])
    return public


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex
