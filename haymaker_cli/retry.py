"""Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP date, after which to ask again."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The answers that say "not now" and may say when: rate limited, or unavailable for a while.
RETRYABLE = frozenset({429, 503})


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait (0 for a date already past); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
