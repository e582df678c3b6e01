"""Wall-clock time for activities and the API (orchestrators use the context's time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]

_override: Clock | None = None


def utc_now() -> datetime:
    return _override() if _override is not None else datetime.now(UTC)


def override_clock(clock: Clock | None) -> Clock | None:
    """Make `utc_now` answer from `clock` (None: the wall clock again); returns the previous
    override. The test harness uses it so activities see the virtual time their orchestration's
    timers fire at, as they would see the wall clock in Azure."""
    global _override
    previous, _override = _override, clock
    return previous
