"""A small real web site on 127.0.0.1 for the checker to check: good pages, a broken one, a
slow one, redirects, and a page without the expected text. Tests can break pages on the fly."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter

from aiohttp import web

WELCOME = "Welcome to the shop"
# Far beyond any timeout a test sets; the page is released when the site closes.
SLOW_PAGE_SECONDS = 60


class FakeSite:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.broken: set[str] = set()  # paths that answer 503 until removed
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def page(self, path: str) -> str:
        return f"{self.url}{path}"

    async def start(self) -> FakeSite:
        app = web.Application(middlewares=[self._count_and_break])
        app.add_routes(
            [
                web.get("/", self._text(f"{WELCOME}: home")),
                web.get("/about", self._text(f"{WELCOME}: about us")),
                web.get("/contact", self._text(f"{WELCOME}: write to us")),
                web.get("/plain", self._text("Nothing to see here")),
                web.get("/error", self._text(f"{WELCOME}, but the database is down", 500)),
                web.get("/missing", self._text("Not found", 404)),
                web.get("/moved", self._redirect("/about")),
                web.get("/loop", self._redirect("/loop")),
                web.get("/slow", self._slow),
            ]
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSite:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @web.middleware
    async def _count_and_break(self, request: web.Request, handler) -> web.StreamResponse:
        self.hits[request.path] += 1
        if request.path in self.broken:
            return web.Response(status=503, text="Down for maintenance")
        return await handler(request)

    @staticmethod
    def _text(body: str, status: int = 200):
        async def handler(request: web.Request) -> web.Response:
            return web.Response(status=status, text=body)

        return handler

    @staticmethod
    def _redirect(location: str):
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(location)

        return handler

    async def _slow(self, request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), SLOW_PAGE_SECONDS)
        return web.Response(text=f"{WELCOME}, eventually")
