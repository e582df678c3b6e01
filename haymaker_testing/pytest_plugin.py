"""pytest fixtures for workload authors. Enable them in your conftest.py with
`pytest_plugins = ["haymaker_testing.pytest_plugin"]` (needs pytest-asyncio).

- `haymaker_storage` (session): a Table storage connection string, from
  HAYMAKER_TEST_STORAGE or a local emulator, else an Azurite started once for the session.
- `durable_harness`: a DurableHarness on its own tables; add your workload with
  `durable_harness.register(MyWorkload)` or pass the class to `deploy`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from haymaker_testing.durable import DurableHarness
from haymaker_testing.storage import durable_storage


@pytest.fixture(scope="session")
def haymaker_storage() -> Iterator[str]:
    with durable_storage() as connection:
        yield connection


@pytest_asyncio.fixture
async def durable_harness(haymaker_storage: str) -> AsyncIterator[DurableHarness]:
    async with DurableHarness(storage=haymaker_storage) as harness:
        yield harness
