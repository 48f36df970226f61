"""Stopping long jobs cleanly: SIGTERM or SIGINT is noted and acted on at the next safe point.

A session's background jobs end with SIGTERM; training and the teacher's targets both save their progress at
the end of the current step or batch and raise `TrainingStopped`, so the next session loses nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingStopped(Exception):
    """SIGTERM or SIGINT arrived: the job saved its progress at a safe point and stopped."""


@contextmanager
def stop_requests() -> Iterator[list[int]]:
    """While active, SIGTERM and SIGINT are recorded (not acted on at once) so a step is never cut in half."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return
    previous = {sig: signal.signal(sig, lambda number, _frame: received.append(number)) for sig in _STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
