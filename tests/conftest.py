from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from haymaker.settings import StorageSettings
from haymaker.store import Stores
from haymaker.store.tables import Tables
from tests.support.azurite import Azurite

# Set by .ci/run (and `make test`) when they start Azurite themselves.
EXTERNAL_STORAGE = "HAYMAKER_TEST_STORAGE"


@pytest.fixture(scope="session")
def storage_connection() -> Iterator[str]:
    external = os.environ.get(EXTERNAL_STORAGE)
    if external:
        yield external
        return
    azurite = Azurite().start()
    try:
        yield azurite.connection_string
    finally:
        azurite.stop()


@pytest.fixture
def storage_settings(storage_connection: str) -> StorageSettings:
    """Tables of their own for each test: a unique table-name prefix."""
    return StorageSettings(
        connection_string=storage_connection, table_prefix=f"t{uuid.uuid4().hex[:12]}"
    )


@pytest.fixture
async def stores(storage_settings: StorageSettings) -> AsyncIterator[Stores]:
    tables = Tables(storage_settings)
    yield Stores(tables)
    await tables.delete_all()
    await tables.close()


@pytest.fixture(scope="session")
def function_app():
    """The real app, indexed once per process (the SDK refuses a second get_functions()),
    shared with haymaker_testing's DurableHarness."""
    from haymaker_testing.app import load_function_app

    return load_function_app()


@pytest.fixture
async def app_env(storage_settings: StorageSettings) -> AsyncIterator[StorageSettings]:
    """Run the app's own functions (activities, HTTP functions) on this test's tables."""
    from haymaker.runtime import Runtime, use_runtime
    from haymaker.settings import Settings
    from haymaker.store import close_stores
    from haymaker.workloads.registry import get_registry

    settings = Settings.from_env(
        {
            **os.environ,
            "AzureWebJobsStorage": storage_settings.connection_string or "",
            "HAYMAKER_TABLE_PREFIX": storage_settings.table_prefix,
        }
    )
    with use_runtime(Runtime(settings=settings, registry=get_registry())):
        yield storage_settings
    await close_stores()


@pytest.fixture(scope="session")
def registry():
    from haymaker.workloads.registry import get_registry
    from tests.support.flaky import FlakyWorkload

    registry = get_registry()
    registry.add(FlakyWorkload)
    return registry


@pytest.fixture(scope="module")
def app_host(storage_connection):
    """The real app on the local host, in a subprocess, for the tests of one module."""
    from tests.support.host import HostProcess

    process = HostProcess(storage_connection).start()
    yield process
    process.stop()


@pytest.fixture
def run(host, monkeypatch, tmp_path):
    """The `haymaker` CLI, in process, against the module's `host`, with a config of its own
    and no key or profile from the environment: run("status", ID) returns the typer result."""
    from typer.testing import CliRunner

    from haymaker_cli import app

    monkeypatch.setenv("HAYMAKER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("HAYMAKER_PROFILE", raising=False)
    monkeypatch.delenv("HAYMAKER_KEY", raising=False)
    monkeypatch.setenv("HAYMAKER_URL", host.url)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
async def api(host):
    """An HTTP session on the module's `host` fixture (each host-backed module defines one)."""
    import aiohttp

    async with aiohttp.ClientSession(base_url=host.url) as session:
        yield session
