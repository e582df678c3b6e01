"""Table Storage state: deployments, their logs and the resources their workloads created."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

from haymaker.settings import StorageSettings
from haymaker.store.deployments import DeploymentRecord, DeploymentStore, Page, Progress
from haymaker.store.logs import LogStore
from haymaker.store.optimistic import read_modify_write
from haymaker.store.resources import ResourcePage, ResourceStore
from haymaker.store.tables import Tables

__all__ = [
    "DeploymentRecord",
    "Page",
    "Progress",
    "ResourcePage",
    "Stores",
    "get_stores",
]

T = TypeVar("T")


class Stores:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.deployments = DeploymentStore(tables)
        self.logs = LogStore(tables)
        self.resources = ResourceStore(tables)

    async def mutate(
        self, deployment_id: str, change: Callable[[DeploymentRecord], T]
    ) -> tuple[DeploymentRecord, T]:
        """Read-modify-write a deployment under its ETag (see read_modify_write). `change`
        may queue log lines on the record."""

        async def write(record: DeploymentRecord) -> None:
            # Lines go first, at line numbers only this version of the entity hands out; they
            # become visible when the entity's log_count moves past them.
            await self.logs.write(deployment_id, record.new_logs)
            await self.deployments.replace(record)

        return await read_modify_write(
            f"deployment {deployment_id}",
            lambda: self.deployments.get(deployment_id),
            change,
            write,
            DeploymentRecord.fingerprint,
        )


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[StorageSettings, Stores]] = (
    weakref.WeakKeyDictionary()
)


def get_stores(settings: StorageSettings | None = None) -> Stores:
    """The shared stores of the running event loop (the SDK's aiohttp sessions are bound to a
    loop), for `settings` (default: from the environment)."""
    settings = settings or StorageSettings.from_env()
    by_settings = _per_loop.setdefault(asyncio.get_running_loop(), {})
    stores = by_settings.get(settings)
    if stores is None:
        stores = by_settings[settings] = Stores(Tables(settings))
    return stores


async def close_stores(settings: StorageSettings | None = None) -> None:
    """Close the clients of the running event loop (tests, shutdown): all of them, or only
    those for `settings`."""
    loop = asyncio.get_running_loop()
    if settings is None:
        closing = list(_per_loop.pop(loop, {}).values())
    else:
        stores = _per_loop.get(loop, {}).pop(settings, None)
        closing = [stores] if stores is not None else []
    for stores in closing:
        await stores.tables.close()
