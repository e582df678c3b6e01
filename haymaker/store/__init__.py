"""Table Storage state: every table the platform keeps, each behind its store."""

from __future__ import annotations

import asyncio
import copy
import weakref
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from haymaker.events import derive
from haymaker.events.derive import Before
from haymaker.models import DeploymentStatus
from haymaker.settings import StorageSettings
from haymaker.store.approvals import ApprovalStore
from haymaker.store.cursors import CursorStore
from haymaker.store.deployments import DeploymentRecord, DeploymentStore, Progress
from haymaker.store.feed import EventFeed
from haymaker.store.logs import LogStore
from haymaker.store.memory import MemoryStore
from haymaker.store.optimistic import read_modify_write
from haymaker.store.ratelimits import RateLimiter
from haymaker.store.resources import ResourceStore
from haymaker.store.subscriptions import SubscriptionStore
from haymaker.store.tables import Page, Tables

if TYPE_CHECKING:
    from haymaker.store.schedules import ScheduleStore
    from haymaker.store.services import ServiceStore
    from haymaker.store.tool_listings import ToolListingStore
    from haymaker.store.toolcalls import ToolLedger
    from haymaker.store.transcripts import TranscriptStore

__all__ = [
    "DeploymentRecord",
    "Page",
    "Progress",
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
        self.ratelimits = RateLimiter(tables)
        self.cursors = CursorStore(tables)
        self.approvals = ApprovalStore(tables)
        self.memory = MemoryStore(tables)
        self.feed = EventFeed(tables)
        self.subscriptions = SubscriptionStore(tables)

    @cached_property
    def transcripts(self) -> TranscriptStore:
        from haymaker.store.transcripts import TranscriptStore

        return TranscriptStore(self.tables)

    @cached_property
    def toolcalls(self) -> ToolLedger:
        from haymaker.store.toolcalls import ToolLedger

        return ToolLedger(self.tables)

    @cached_property
    def schedules(self) -> ScheduleStore:
        # Imported on first use: schedules bring NCRONTAB parsing, which steps never need.
        from haymaker.store.schedules import ScheduleStore

        return ScheduleStore(self.tables)

    @cached_property
    def services(self) -> ServiceStore:
        # Imported on first use, like schedules: only registrations and agents need them.
        from haymaker.store.services import ServiceStore

        return ServiceStore(self.tables)

    @cached_property
    def tool_listings(self) -> ToolListingStore:
        from haymaker.store.tool_listings import ToolListingStore

        return ToolListingStore(self.tables)

    async def mutate(
        self,
        deployment_id: str,
        change: Callable[[DeploymentRecord], T],
        *,
        current: DeploymentRecord | None = None,
    ) -> tuple[DeploymentRecord, T]:
        """Read-modify-write a deployment under its ETag (see read_modify_write). `change`
        may queue log lines on the record; the events it causes (haymaker.events.derive) are
        written with it. `current`, a record read a moment ago, saves the first read: if
        anyone wrote since, its ETag fails and a fresh read follows."""

        indexed: list[DeploymentStatus] = []
        read: list[Before] = []
        first = [copy.deepcopy(current)] if current is not None else []

        async def fresh() -> DeploymentRecord:
            record = first.pop() if first else await self.deployments.get(deployment_id)
            read[:] = [Before.of(record)]
            return record

        async def write(record: DeploymentRecord) -> None:
            # Lines go first, at line numbers only this version of the entity hands out; they
            # become visible when the entity's log_count moves past them.
            await self.logs.write(deployment_id, record.new_logs, record.new_steps)
            if record.state.status != record.stored_status:
                indexed.append(record.state.status)  # replace() moves the index row first
            # The change's events go to the outbox in the entity's own transaction.
            await self.deployments.replace(record, derive.changes(read[0], record))

        record, result = await read_modify_write(
            f"deployment {deployment_id}", fresh, change, write, DeploymentRecord.fingerprint
        )
        if indexed and indexed[-1] != record.state.status:
            # A write that lost to another had already moved the index row.
            await self.deployments.index.put(record.state)
        return record, result


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
