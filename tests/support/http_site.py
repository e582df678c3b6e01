"""A real aiohttp site on 127.0.0.1 for http_fetch's tests, and a resolver that answers
name lookups from a table (so test names can point at any address without DNS)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

PAGE = """<!doctype html>
<html><head><title>Test   page</title>
<style>body { color: red }</style>
<script>var hidden = "script text";</script></head>
<body><h1>Hello world</h1>
<p>Read <a href="/about">about us</a> or <a href="#top">the top</a>.</p>
<ul><li>first</li><li>second</li></ul>
<noscript>enable scripts</noscript>
</body></html>"""


@dataclass
class Site:
    url: str
    port: int
    # (path, headers) of every request the site received
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def _app(site: Site) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        site.requests.append((request.path_qs, dict(request.headers)))
        return await handler(request)

    @routes.get("/page")
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    @routes.get("/json")
    async def json_body(request: web.Request) -> web.Response:
        return web.json_response({"items": [1, 2]})

    @routes.get("/binary")
    async def binary(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(100), content_type="image/png")

    @routes.get("/missing")
    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="<p>No such page</p>", content_type="text/html")

    @routes.get("/redirect")
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    @routes.get("/loop")
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    @routes.get("/endless")
    async def endless(request: web.Request) -> web.StreamResponse:
        """Text for as long as anyone reads it."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        while True:
            await response.write(b"all work and no play " * 1000)

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.Event().wait()  # never answers
        raise AssertionError

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@asynccontextmanager
async def serve() -> AsyncIterator[Site]:
    site = Site(url="", port=0)
    runner = web.AppRunner(_app(site), shutdown_timeout=0.1)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    site.port = runner.addresses[0][1]
    site.url = f"http://127.0.0.1:{site.port}"
    try:
        yield site
    finally:
        await runner.cleanup()


class TableResolver(AbstractResolver):
    """Answers lookups from `table` (name -> addresses); any other name does not exist."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass
