"""Stopping on SIGTERM and SIGHUP as on Ctrl-C: a process manager, `timeout` or a closed
terminal asks a foreground command to stop, and it must stop what it started first."""

from __future__ import annotations

import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """Raised in the main thread by the first stop signal. A BaseException, as
    KeyboardInterrupt is, so that no `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a command killed by the signal


@contextmanager
def stopping_on(signals: Iterable[int] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, the first of `signals` raises Stopped; later ones are ignored, so
    that they cannot cut short the cleanup the first one started."""
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Stopped(signum)

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
