"""HTTP and timer triggers: call the app's functions the way the Functions host does."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.functions.timer import TimerRequest

from devhost.durable_store import DurableStore, utc_now
from devhost.loader import FunctionApp, HttpFunction, TimerFunction

logger = logging.getLogger("devhost.triggers")

BindingFactory = Callable[[str], str]  # base URL -> durable client binding JSON


async def call_function(fn: Any, kwargs: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(**kwargs)
    result = await asyncio.to_thread(fn, **kwargs)
    return await result if inspect.isawaitable(result) else result


class HttpTriggers:
    def __init__(
        self, app: FunctionApp, route_prefix: str, key: str | None, binding: BindingFactory
    ) -> None:
        self.app = app
        self.prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""
        self.key = key
        self.binding = binding

    def routes(self) -> list[web.RouteDef]:
        # [\s\S]: a path may carry any percent-encoded character, newlines included.
        return [web.route("*", f"{self.prefix}/{{tail:[\\s\\S]*}}", self.dispatch)]

    def _match(
        self, path: str, method: str
    ) -> tuple[HttpFunction | None, dict[str, str], set[str]]:
        """The function for `path` and `method`, its route parameters, and the methods other
        functions on the path take (named in the 404 when none takes `method`)."""
        allowed: set[str] = set()
        for function in self.app.http:
            params = function.compiled.match(path)
            if params is None:
                continue
            if function.methods is None or method in function.methods:
                return function, params, allowed
            allowed |= function.methods
        return None, {}, allowed

    def _authorized(self, function: HttpFunction, request: web.Request) -> bool:
        if self.key is None or function.auth_level == "anonymous":
            return True
        supplied = request.headers.get("x-functions-key") or request.query.get("code")
        return supplied == self.key

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        function, params, allowed = self._match(path, request.method)
        if function is None:
            # The Functions host routes by path and method together: a known path with
            # another method is a 404 like an unknown one, not a 405
            # (Azure/azure-functions-host#10098).
            detail = f"no function serves {request.method} {request.path!r}"
            if allowed:
                detail += f" (it takes {', '.join(sorted(allowed))})"
            return _problem(404, "Not found", detail)
        if not self._authorized(function, request):
            return web.Response(status=401)
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=params,
            body=await request.read(),
        )
        kwargs: dict[str, Any] = {function.request_param: http_request}
        if function.client_param:
            kwargs[function.client_param] = self.binding(f"{request.scheme}://{request.host}")
        try:
            result = await call_function(function.fn, kwargs)
        except Exception:
            logger.exception("function %s failed", function.name)
            return web.Response(status=500)
        return _to_aiohttp(result)


def _problem(status: int, title: str, detail: str) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


def _to_aiohttp(result: Any) -> web.Response:
    if result is None:
        return web.Response(status=204)
    if not isinstance(result, func.HttpResponse):
        result = func.HttpResponse(json.dumps(result) if not isinstance(result, str) else result)
    headers = dict(result.headers)
    content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None)
    if content_type is None and result.mimetype:
        content_type = result.mimetype
        if result.charset and content_type.startswith(("text/", "application/json")):
            content_type += f"; charset={result.charset}"
    response = web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if content_type:
        response.headers["Content-Type"] = content_type
    return response


class TimerTriggers:
    """Fires timer functions on their NCRONTAB schedules. Like the host's schedule monitor,
    it remembers each function's last and next run in storage, so a run missed while the host
    was down fires once at start-up with `past_due` set."""

    PARTITION = "timer-status"

    def __init__(self, app: FunctionApp, store: DurableStore, binding: Callable[[], str]) -> None:
        self.app = app
        self.store = store
        self.binding = binding
        self._tasks: list[asyncio.Task[None]] = []
        self.fired: dict[str, int] = {}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(timer)) for timer in self.app.timers]

    def routes(self) -> list[web.RouteDef]:
        """POST /admin/functions/{name}: run a timer function now, as the Functions host's
        admin API does for non-HTTP functions."""
        return [web.post("/admin/functions/{name}", self.invoke)]

    async def invoke(self, request: web.Request) -> web.Response:
        timer = next((t for t in self.app.timers if t.name == request.match_info["name"]), None)
        if timer is None:
            return web.Response(status=404)
        await self._fire(timer, past_due=False)
        return web.Response(status=202)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _status(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(await self.store.table.get_entity(self.PARTITION, name))
        except ResourceNotFoundError:
            return None

    async def _save(self, name: str, last: datetime, next_run: datetime) -> None:
        await self.store.table.upsert_entity(
            {"PartitionKey": self.PARTITION, "RowKey": name, "last": last, "next": next_run},
            mode=UpdateMode.REPLACE,
        )

    async def _run(self, timer: TimerFunction) -> None:
        status = await self._status(timer.name)
        now = utc_now()
        if timer.run_on_startup:
            await self._fire(timer, past_due=False)
        elif status is not None and status["next"] <= now:
            await self._fire(timer, past_due=True)
        while True:
            now = utc_now()
            due = timer.schedule.next_after(now)
            await self._save(timer.name, now, due)
            await asyncio.sleep(max(0.0, (due - utc_now()).total_seconds()))
            late = (utc_now() - due).total_seconds() > 1.0
            await self._fire(timer, past_due=late)

    async def _fire(self, timer: TimerFunction, *, past_due: bool) -> None:
        kwargs: dict[str, Any] = {timer.timer_param: TimerRequest(past_due=past_due)}
        if timer.client_param:
            kwargs[timer.client_param] = self.binding()
        try:
            await call_function(timer.fn, kwargs)
        except Exception:
            logger.exception("timer function %s failed", timer.name)
        self.fired[timer.name] = self.fired.get(timer.name, 0) + 1
