"""Table Storage state: deployments, their logs and the resources their workloads created."""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Callable
from typing import TypeVar

from azure.core.exceptions import ResourceModifiedError

from haymaker.errors import ConcurrencyError
from haymaker.settings import StorageSettings
from haymaker.store.deployments import DeploymentRecord, DeploymentStore, Page, Progress
from haymaker.store.logs import LogStore
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

MAX_UPDATE_ATTEMPTS = 30
MAX_BACKOFF_SECONDS = 0.5


class Stores:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.deployments = DeploymentStore(tables)
        self.logs = LogStore(tables)
        self.resources = ResourceStore(tables)

    async def mutate(
        self, deployment_id: str, change: Callable[[DeploymentRecord], T]
    ) -> tuple[DeploymentRecord, T]:
        """Read-modify-write a deployment under its ETag, re-applying `change` to a fresh read
        after a conflicting write. `change` edits the record in place (and may queue log
        lines); it may raise to refuse. Nothing is written when it changes nothing."""
        for attempt in range(MAX_UPDATE_ATTEMPTS):
            record = await self.deployments.get(deployment_id)
            before = record.fingerprint()
            result = change(record)
            if record.fingerprint() == before:
                return record, result
            # Lines go first, at line numbers only this version of the entity hands out; they
            # become visible when the entity's log_count moves past them.
            await self.logs.write(deployment_id, record.new_logs)
            try:
                await self.deployments.replace(record)
            except ResourceModifiedError:
                # full jitter, so a crowd of writers spreads out instead of colliding again
                await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.01 * 2**attempt)))
                continue
            return record, result
        raise ConcurrencyError(
            f"deployment {deployment_id} kept changing; gave up after {MAX_UPDATE_ATTEMPTS} tries"
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


async def close_stores() -> None:
    """Close the clients of the running event loop (tests, shutdown)."""
    by_settings = _per_loop.pop(asyncio.get_running_loop(), {})
    for stores in by_settings.values():
        await stores.tables.close()
