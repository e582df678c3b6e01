"""NCRONTAB schedules as Azure Functions reads them: six fields, seconds first.

Evaluation is croniter's; this module pins the dialect. Like NCrontab, a day must match both
the day-of-month and the day-of-week fields (Vixie cron would accept either).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

FIELDS = ("second", "minute", "hour", "day", "month", "day-of-week")


@dataclass(frozen=True)
class Schedule:
    expression: str

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        if not isinstance(expression, str):
            raise ValueError("a schedule must be a string")
        fields = expression.split()
        if len(fields) != len(FIELDS):
            raise ValueError(
                f"NCRONTAB schedule {expression!r} has {len(fields)} fields; it needs six: "
                + " ".join(FIELDS)
            )
        for name, value in zip(FIELDS, fields, strict=True):
            probe = ["*"] * len(FIELDS)
            probe[FIELDS.index(name)] = value
            if not croniter.is_valid(" ".join(probe), second_at_beginning=True):
                raise ValueError(f"NCRONTAB schedule {expression!r}: bad {name} field {value!r}")
        normalized = " ".join(fields)
        if not croniter.is_valid(normalized, second_at_beginning=True):
            raise ValueError(f"NCRONTAB schedule {expression!r} is not valid")
        return cls(normalized)

    def times_after(self, moment: datetime, tz: str = "UTC") -> Iterator[datetime]:
        """Fire times strictly after `moment`, in UTC, evaluated in time zone `tz`."""
        zone = ZoneInfo(tz)
        local = moment.astimezone(zone)
        it = croniter(self.expression, local, second_at_beginning=True, day_or=False)
        while True:
            yield it.get_next(datetime).astimezone(UTC)

    def next_after(self, moment: datetime, tz: str = "UTC") -> datetime:
        return next(self.times_after(moment, tz))
