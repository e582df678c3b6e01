"""Deployments run by the real orchestrator and activities, in this process, against Table
storage: what the platform does, step by step, with a clock the test moves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from haymaker.lifecycle import Lifecycle
from haymaker.llm import LLMClient, environment_llm_client, override_llm_client
from haymaker.models import DeploymentConfig
from haymaker.settings import STORAGE_SETTING, TABLE_PREFIX_SETTING, StorageSettings
from haymaker.store import close_stores, get_stores
from haymaker.testing.app import load_function_app
from haymaker.testing.durable_run import DurableRun
from haymaker.testing.storage import durable_storage
from haymaker.workloads.base import Workload
from haymaker.workloads.registry import get_registry


class DurableHarness:
    """`async with DurableHarness(workloads=[MyWorkload]) as harness:` registers the classes,
    points the app's storage at tables of its own (deleted on exit), and answers the
    activities' model calls with `llm` (or a run's own `run.llm`).

    Storage: `storage` (a connection string), else HAYMAKER_TEST_STORAGE, else a local
    emulator named by AzureWebJobsStorage, else an Azurite it starts and stops. The app's
    settings are process-wide environment variables: run one harness at a time."""

    def __init__(
        self,
        workloads: Iterable[type[Workload]] = (),
        *,
        llm: LLMClient | None = None,
        storage: str | None = None,
    ) -> None:
        self.workloads = list(workloads)
        self.llm = llm
        self.storage = storage
        self.app = load_function_app()
        self.registry = get_registry()
        self.runs: list[DurableRun] = []
        self._driving: DurableRun | None = None
        self._exit = ExitStack()

    async def __aenter__(self) -> DurableHarness:
        try:
            connection = self.storage or self._exit.enter_context(durable_storage())
            self.settings = StorageSettings(
                connection_string=connection, table_prefix=f"h{uuid.uuid4().hex[:12]}"
            )
            self._exit.enter_context(_environment(self.settings))
            previous = override_llm_client(self._llm_client)
            self._exit.callback(override_llm_client, previous)
            self._fallback_llm = previous or environment_llm_client
            for cls in self.workloads:
                self.register(cls)
            self.stores = get_stores(self.settings)
            self.lifecycle = Lifecycle(self.stores, self.registry)
        except BaseException:
            self._exit.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.stores.tables.delete_all()
        finally:
            await close_stores(self.settings)
            self._exit.close()

    def register(self, cls: type[Workload]) -> None:
        """Offer a workload that is not installed as an entry point (for this process)."""
        self.registry.add(cls)

    async def deploy(
        self,
        workload: str | type[Workload],
        config: dict[str, Any] | None = None,
        *,
        duration_hours: float | None = None,
        tags: dict[str, str] | None = None,
        deployment_id: str | None = None,
    ) -> DurableRun:
        """Create the deployment as the API does and start its orchestration (nothing runs
        until the run is driven). ConfigError for a config the workload refuses."""
        if isinstance(workload, type):
            self.register(workload)
            workload = workload.manifest().name
        request = DeploymentConfig.model_validate(
            {
                "workload": workload,
                "config": config or {},
                "duration_hours": duration_hours,
                "tags": tags or {},
            }
        )
        record = await self.lifecycle.create(request, deployment_id=deployment_id)
        run = DurableRun(self, record.deployment_id)
        self.runs.append(run)
        return run

    @contextmanager
    def driving(self, run: DurableRun) -> Iterator[None]:
        """Activities run meanwhile belong to `run` (so they get its LLM)."""
        previous, self._driving = self._driving, run
        try:
            yield
        finally:
            self._driving = previous

    def _llm_client(self) -> LLMClient:
        client = self._driving.llm if self._driving is not None else self.llm
        return client if client is not None else self._fallback_llm()


@contextmanager
def _environment(settings: StorageSettings) -> Iterator[None]:
    """Point the app's own get_stores() at `settings`, restoring the variables afterwards."""
    values = {
        STORAGE_SETTING: settings.connection_string,
        TABLE_PREFIX_SETTING: settings.table_prefix,
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update({name: value for name, value in values.items() if value is not None})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
