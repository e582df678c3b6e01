"""Make the SDK's replay cheaper without changing what it computes.

The SDK parses every history event's timestamp with dateutil on every replay, which is most of
a replay's cost. The same strings come back episode after episode, and datetimes are
immutable, so a memoized parser returns exactly what the real one would.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from dateutil.parser import parse as _parse

# The package re-exports a class under the module's name, so fetch the module itself.
_MODULE = "azure.durable_functions.models.history.HistoryEvent"


def install() -> None:
    module = importlib.import_module(_MODULE)
    if not hasattr(module.dt_parse, "cache_info"):
        module.dt_parse = lru_cache(maxsize=1 << 17)(_parse)
