"""Invoke activity functions as the Python worker does: decode the JSON-text input with the
worker's activity converter, call the function (sync ones on a thread), encode the result."""

from __future__ import annotations

import asyncio
import functools
import inspect
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.loader import ActivityFunction


@dataclass
class ActivityOutcome:
    result: str | None = None  # JSON text, when it succeeded
    reason: str | None = None
    details: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def decode_input(text: str) -> Any:
    return ActivityTriggerConverter.decode(
        meta.Datum(type="json", value=text), trigger_metadata=None
    )


def encode_output(value: Any) -> str:
    return ActivityTriggerConverter.encode(value, expected_type=None).value


async def invoke_activity(
    activity: ActivityFunction, input_text: str, executor: Executor | None = None
) -> ActivityOutcome:
    """Run one activity; a sync one on `executor` (default: the loop's thread pool)."""
    try:
        argument = decode_input(input_text)
        if inspect.iscoroutinefunction(activity.fn):
            value = await activity.fn(**{activity.input_param: argument})
        else:
            call = functools.partial(activity.fn, **{activity.input_param: argument})
            value = await asyncio.get_running_loop().run_in_executor(executor, call)
            if inspect.isawaitable(value):
                value = await value
        return ActivityOutcome(result=encode_output(value))
    except Exception as exc:
        return ActivityOutcome(
            reason=f"{type(exc).__name__}: {exc}",
            details="".join(traceback.format_exception(exc)),
        )
