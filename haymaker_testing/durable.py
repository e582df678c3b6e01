"""Deployments run by the real orchestrator and activities, in this process, against Table
storage: what the platform does, step by step, with a clock the test moves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from haymaker.lifecycle import Lifecycle
from haymaker.llm import LLMClient, environment_llm_client
from haymaker.models import DeploymentConfig
from haymaker.runtime import Runtime, use_runtime
from haymaker.settings import STORAGE_SETTING, TABLE_PREFIX_SETTING, Settings
from haymaker.store import close_stores, get_stores
from haymaker.workloads.base import Workload
from haymaker.workloads.registry import get_registry
from haymaker_testing.app import load_function_app
from haymaker_testing.durable_run import DurableRun
from haymaker_testing.storage import durable_storage


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
            # The app's own settings, with tables of the harness's own.
            settings = Settings.from_env(
                {
                    **os.environ,
                    STORAGE_SETTING: connection,
                    TABLE_PREFIX_SETTING: f"h{uuid.uuid4().hex[:12]}",
                }
            )
            self.settings = settings.storage
            self._fallback_llm = lambda: environment_llm_client(settings.llm())
            runtime = self._exit.enter_context(
                use_runtime(
                    Runtime(settings=settings, registry=self.registry, llm_factory=self._llm_client)
                )
            )
            for cls in self.workloads:
                self.register(cls)
            self.stores = get_stores(self.settings)
            self.lifecycle = Lifecycle(self.stores, self.registry, clock=runtime.clock)
        except BaseException:
            self._exit.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            # Event dispatch after the last writes runs in the background: let it finish
            # first, or it would create a table again as it reads the outbox.
            tables = self.stores.tables
            listener, tables.outbox_listener = tables.outbox_listener, None
            idle = getattr(listener, "idle", None)
            if idle is not None:
                await idle()
            await tables.delete_all()
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
        budget: dict[str, float] | None = None,
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
                "budget": budget,
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
