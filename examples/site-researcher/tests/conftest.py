"""A small local bakery site the agent researches, and a harness on Azurite."""

from __future__ import annotations

import pytest
from aiohttp import web
from site_researcher import SiteResearcherWorkload

from haymaker_testing import DurableHarness

PAGES = {
    "/": '<h1>Crumb &amp; Co</h1><p>Fresh bread daily. <a href="/about">About us</a>, '
    '<a href="/hours">opening hours</a>.</p>',
    "/about": "<h1>About</h1><p>Crumb &amp; Co is run by Ada Baker since 2011.</p>",
    "/hours": "<h1>Hours</h1><p>Open Tuesday to Sunday, 7:00 to 14:00.</p>",
}


class Site:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.url = ""

    async def __aenter__(self) -> Site:
        app = web.Application()

        async def page(request: web.Request) -> web.Response:
            self.hits.append(request.path)
            if request.path not in PAGES:
                raise web.HTTPNotFound()
            return web.Response(text=PAGES[request.path], content_type="text/html")

        app.router.add_get("/{tail:.*}", page)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()


@pytest.fixture
async def bakery():
    async with Site() as site:
        yield site


@pytest.fixture
async def harness():
    async with DurableHarness(workloads=[SiteResearcherWorkload]) as running:
        yield running
