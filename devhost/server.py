"""The local host: one aiohttp server on one event loop serving the app's HTTP triggers, the
Durable management API and the engine (the SDK's client session is bound to one loop)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path

from aiohttp import web
from azure.durable_functions.models.utils import http_utils

from devhost import loader
from devhost.config import HostConfig
from devhost.durable_store import DurableStore
from devhost.engine import Engine
from devhost.rpc import PUBLIC_PREFIX, RPC_PREFIX, ManagementApi, client_binding
from devhost.triggers import HttpTriggers, TimerTriggers

logger = logging.getLogger("devhost")


class LocalHost:
    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.app = loader.load(config.app_dir)
        self.store = DurableStore(config.storage, config.task_hub)
        self.engine = Engine(
            self.app,
            self.store,
            max_activities=config.max_activities,
            max_orchestrations=config.max_orchestrations,
        )
        self.base_url = f"http://{config.host}:{config.port}"
        self.timers = TimerTriggers(self.app, self.store, lambda: self._binding(self.base_url))
        self.runner: web.AppRunner | None = None

    def _binding(self, base_url: str) -> str:
        return json.dumps(client_binding(base_url, self.config.task_hub, self.config.function_key))

    def web_app(self) -> web.Application:
        api = ManagementApi(self.engine, self.config.task_hub, self.config.function_key)
        http = HttpTriggers(
            self.app, self.config.route_prefix, self.config.function_key, self._binding
        )
        web_app = web.Application(client_max_size=100 * 1024 * 1024)
        web_app.add_routes(api.routes(RPC_PREFIX))
        web_app.add_routes(api.routes(PUBLIC_PREFIX))
        web_app.add_routes(self.timers.routes())
        web_app.add_routes(http.routes())
        return web_app

    async def start(self) -> None:
        await self.engine.start()
        self.runner = web.AppRunner(self.web_app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        self.timers.start()
        functions = len(self.app.http) + len(self.app.orchestrators) + len(self.app.timers)
        logger.info(
            "Haymaker local host on %s/%s (task hub %s, %d functions)",
            self.base_url,
            self.config.route_prefix,
            self.config.task_hub,
            functions,
        )

    async def stop(self) -> None:
        await self.timers.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        await self.engine.stop()
        await self.store.close()
        await http_utils._close_session()  # the SDK's shared client session
        # Clients the app cached for its own use are dropped with the process, as in Azure,
        # where the worker has no shutdown hook; their "unclosed" notices are noise here.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)


async def serve(config: HostConfig) -> None:
    host = LocalHost(config)
    await host.start()
    print(f"Haymaker local host listening on {host.base_url}/{config.route_prefix}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await host.stop()


def run(app_dir: Path, **overrides: object) -> None:
    config = HostConfig.from_app(app_dir, **overrides)
    asyncio.run(serve(config))
