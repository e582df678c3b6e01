"""The local host's replay bookkeeping, driven event by event through the SDK's own
orchestrator handle (no storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import azure.durable_functions as df

from devhost.replay import OrchestrationReplay, task_completed, task_failed, timer_fired

RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1_000, max_number_of_attempts=3)


def five_steps(context: df.DurableOrchestrationContext):
    total = 0
    for step in range(5):
        total += yield context.call_activity_with_retry("work", RETRY, step)
    return total


def test_a_call_that_succeeded_leaves_no_retry_state_behind():
    replay = OrchestrationReplay.new(df.Orchestrator.create(five_steps), "i1", "five", "null")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    episode = replay.start(now)
    kept = []
    for step in range(5):
        (call,) = episode.activities
        kept.append(len(replay.bookkeeping()["retries"]))
        if step == 2:  # one failure on the way: its back-off timer, then the second attempt
            (failed,) = replay.deliver([task_failed(call.task_id, "boom", "", now)], now)
            (timer,) = failed.timers
            (episode,) = replay.deliver([timer_fired(timer.timer_id, timer.fire_at, now)], now)
            (call,) = episode.activities
            assert call.attempt == 2
        now += timedelta(seconds=1)
        (episode,) = replay.deliver([task_completed(call.task_id, str(step), now)], now)
    assert episode.done
    assert episode.output == 10
    assert kept == [1, 1, 1, 1, 1]  # only the call in flight, never those already done
    assert replay.bookkeeping()["retries"] == {}


def test_a_call_whose_last_attempt_failed_leaves_no_retry_state_behind():
    replay = OrchestrationReplay.new(df.Orchestrator.create(five_steps), "i2", "five", "null")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    (call,) = replay.start(now).activities
    for attempt in range(1, 4):
        assert call.attempt == attempt
        (failed,) = replay.deliver([task_failed(call.task_id, f"attempt {attempt}", "", now)], now)
        (timer,) = failed.timers
        (episode,) = replay.deliver([timer_fired(timer.timer_id, timer.fire_at, now)], now)
        if attempt < 3:
            (call,) = episode.activities
    assert episode.done
    assert episode.failed
    assert replay.bookkeeping()["retries"] == {}
