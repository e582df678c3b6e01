"""Table storage for durable tests: a configured emulator, or an Azurite of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from devhost.azurite import DEFAULT_PORTS, Azurite, connection_string, listening
from haymaker_testing.app import app_dir

TEST_STORAGE = "HAYMAKER_TEST_STORAGE"
APP_STORAGE = "AzureWebJobsStorage"
DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"
AZURITE = "azurite-table"


def configured_storage() -> str | None:
    """HAYMAKER_TEST_STORAGE (any account: the caller chose it), else AzureWebJobsStorage if
    it names a local emulator. An account in Azure is never used unless asked for by name."""
    explicit = os.environ.get(TEST_STORAGE)
    if explicit:
        return explicit
    app = os.environ.get(APP_STORAGE, "")
    if app.replace(" ", "").lower() == DEVELOPMENT_STORAGE:
        port = DEFAULT_PORTS["table"]
        return connection_string(port) if listening(port) else None
    return app if _local(app) else None


def _local(connection: str) -> bool:
    parts = dict(part.split("=", 1) for part in connection.split(";") if "=" in part)
    endpoint = parts.get("TableEndpoint")
    return endpoint is not None and urlparse(endpoint).hostname in ("127.0.0.1", "localhost")


def start_azurite() -> Azurite:
    """Azurite's Table service, in memory on a free port: from the node_modules beside
    function_app.py or in the working directory, else `azurite-table` on PATH."""
    for project in (app_dir(), Path.cwd()):
        if (project / "node_modules" / ".bin" / AZURITE).exists():
            return Azurite(project).start()
    found = shutil.which(AZURITE)
    if found:
        return Azurite(Path.cwd(), bin_dir=Path(found).parent).start()
    raise RuntimeError(
        "durable tests need Azure Table storage and no Azurite was found: install it "
        "(`npm install -g azurite`, or `npm ci` in the haymaker-functions repository), or set "
        f"{TEST_STORAGE} to a storage connection string"
    )


@contextmanager
def durable_storage() -> Iterator[str]:
    """A connection string: the configured storage, or an Azurite stopped on exit."""
    configured = configured_storage()
    if configured:
        yield configured
        return
    azurite = start_azurite()
    try:
        yield azurite.connection_string
    finally:
        azurite.stop()
