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
