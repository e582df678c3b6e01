"""NCRONTAB schedules as Azure Functions reads them: six fields, seconds first, in a time zone.

Evaluation is croniter's; this module pins the dialect:
- like NCrontab, a day must match both the day-of-month and the day-of-week field;
- a wall-clock time that a daylight-saving change skips runs at the first valid time after it;
- a wall-clock time that a daylight-saving change repeats runs once, when the schedule names
  its hours (`0 30 1 * * *`); a schedule over every hour (`0 */30 * * * *`) keeps running by
  elapsed time through the repeated hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

FIELDS = ("second", "minute", "hour", "day", "month", "day-of-week")


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or ValueError naming it."""
    try:
        if not isinstance(name, str) or not name or name.startswith(("/", ".")):
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris"
        ) from None


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
        try:
            next(cls(normalized).times_after(datetime(2000, 1, 1, tzinfo=UTC)))
        except (StopIteration, ValueError, KeyError):
            raise ValueError(f"NCRONTAB schedule {expression!r} never fires") from None
        return cls(normalized)

    @property
    def names_its_hours(self) -> bool:
        return self.expression.split()[2] != "*"

    def _iter(self, local: datetime) -> croniter:
        return croniter(self.expression, local, second_at_beginning=True, day_or=False)

    def times_after(self, moment: datetime, tz: str = "UTC") -> Iterator[datetime]:
        """Fire times strictly after `moment`, in UTC, evaluated in time zone `tz`."""
        zone = time_zone(tz)
        local = moment.astimezone(zone)
        last_wall = local.replace(tzinfo=None)
        iterator = self._iter(local)
        while True:
            candidate = iterator.get_next(datetime)
            wall = candidate.replace(tzinfo=None)
            if self.names_its_hours and wall <= last_wall:
                continue  # the second pass of a wall-clock time a fall-back repeats
            last_wall = wall
            yield candidate.astimezone(UTC)

    def next_after(self, moment: datetime, tz: str = "UTC") -> datetime:
        return next(self.times_after(moment, tz))

    def upcoming(self, moment: datetime, count: int, tz: str = "UTC") -> list[datetime]:
        iterator = self.times_after(moment, tz)
        return [next(iterator) for _ in range(count)]

    def latest_due(self, after: datetime | None, now: datetime, tz: str = "UTC") -> datetime | None:
        """The latest fire time in (after, now], or None. Cheap however far `now` is from
        `after`: it steps back from `now` instead of forward from `after`."""
        zone = time_zone(tz)
        # croniter's get_prev returns times strictly before its start.
        candidate = self._iter((now + timedelta(microseconds=1)).astimezone(zone)).get_prev(
            datetime
        )
        latest = candidate.astimezone(UTC)
        if after is None:
            return latest
        if latest <= after:
            return None
        repeat = candidate.replace(tzinfo=None) == after.astimezone(zone).replace(tzinfo=None)
        # a repeat of the wall-clock time that `after` already stood for is not a new slot
        return None if self.names_its_hours and repeat else latest
