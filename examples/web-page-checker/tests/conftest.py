from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_site import FakeSite

# durable_harness (the real orchestrator and activities against Azurite) and haymaker_storage.
pytest_plugins = ["haymaker_testing.pytest_plugin"]


@pytest.fixture
async def site() -> AsyncIterator[FakeSite]:
    async with FakeSite() as running:
        yield running
