from datetime import UTC, datetime

import pytest

from haymaker.ncrontab import Schedule, time_zone

NY = "America/New_York"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_six_fields_seconds_first():
    schedule = Schedule.parse("*/15 * * * * *")
    assert schedule.upcoming(utc(2026, 1, 1, 0, 0, 7), 3) == [
        utc(2026, 1, 1, 0, 0, 15),
        utc(2026, 1, 1, 0, 0, 30),
        utc(2026, 1, 1, 0, 0, 45),
    ]


def test_weekdays_at_six_utc():
    schedule = Schedule.parse("0 0 6 * * Mon-Fri")
    # Friday 2026-01-02 07:00 -> Monday 5th, Tuesday 6th
    assert schedule.upcoming(utc(2026, 1, 2, 7), 2) == [utc(2026, 1, 5, 6), utc(2026, 1, 6, 6)]


def test_day_of_month_and_day_of_week_must_both_match_as_in_ncrontab():
    # Friday the 13th, not "the 13th or any Friday"
    assert Schedule.parse("0 0 9 13 * Fri").next_after(utc(2026, 1, 1)) == utc(2026, 2, 13, 9)


def test_time_zone_is_honoured():
    schedule = Schedule.parse("0 0 6 * * *")
    assert schedule.next_after(utc(2026, 1, 10), "Europe/Paris") == utc(
        2026, 1, 10, 5
    )  # CET = UTC+1
    assert schedule.next_after(utc(2026, 7, 10), "Europe/Paris") == utc(
        2026, 7, 10, 4
    )  # CEST = UTC+2


def test_spring_forward_skipped_time_runs_at_the_first_valid_time():
    # 2024-03-10: New York clocks jump from 02:00 to 03:00; 02:30 does not exist that day
    runs = Schedule.parse("0 30 2 * * *").upcoming(utc(2024, 3, 9, 12), 3, NY)
    assert runs == [utc(2024, 3, 10, 7, 0), utc(2024, 3, 11, 6, 30), utc(2024, 3, 12, 6, 30)]


def test_fall_back_repeated_time_runs_once_for_a_named_hour():
    # 2024-11-03: 01:00-02:00 happens twice in New York
    runs = Schedule.parse("0 30 1 * * *").upcoming(utc(2024, 11, 2, 12), 2, NY)
    assert runs == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]


def test_fall_back_keeps_elapsed_time_for_every_hour_schedules():
    runs = Schedule.parse("0 */30 * * * *").upcoming(utc(2024, 11, 3, 4, 50), 4, NY)
    assert runs == [
        utc(2024, 11, 3, 5),
        utc(2024, 11, 3, 5, 30),
        utc(2024, 11, 3, 6),
        utc(2024, 11, 3, 6, 30),
    ]


def test_latest_due_steps_back_cheaply_and_respects_repeats():
    every_second = Schedule.parse("* * * * * *")
    # a year of per-second slots: the latest is found without walking through them
    assert every_second.latest_due(utc(2025, 1, 1), utc(2026, 1, 1, 0, 0, 0, 400)) == utc(
        2026, 1, 1
    )
    assert every_second.latest_due(utc(2026, 1, 1), utc(2026, 1, 1, 0, 0, 0, 400)) is None
    daily = Schedule.parse("0 30 1 * * *")
    first = utc(2024, 11, 3, 5, 30)
    assert daily.latest_due(first, utc(2024, 11, 3, 7), NY) is None  # 06:30Z is 01:30 again
    assert daily.latest_due(None, utc(2024, 11, 3, 5, 45), NY) == first


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("* * * * *", "has 5 fields"),
        ("* * * * * * *", "has 7 fields"),
        ("60 * * * * *", "bad second field"),
        ("0 60 * * * *", "bad minute field"),
        ("0 0 24 * * *", "bad hour field"),
        ("0 0 0 32 * *", "bad day field"),
        ("0 0 0 * 13 *", "bad month field"),
        ("0 0 0 * * Funday", "bad day-of-week field"),
        ("0 0 0 31 2 *", "never fires"),
        ("", "has 0 fields"),
    ],
)
def test_invalid_expressions_name_the_problem(expression, problem):
    with pytest.raises(ValueError, match=problem):
        Schedule.parse(expression)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "UTC+1"])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(ValueError, match="unknown time zone"):
        time_zone(name)
