"""Wall-clock time for activities and the API (orchestrators use the context's time).

Services take a `Clock` when they are made (haymaker.runtime injects the process's); tests
and the author test kit pass their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
