"""Shared helper of the bad-input sweeps: fail a case that runs too long (a hang) instead of
waiting for it (SIGALRM; the tests run in the main thread on Linux)."""

from __future__ import annotations

import contextlib
import signal


@contextlib.contextmanager
def budget(seconds: int):
    """Raise TimeoutError in the body if it runs longer than ``seconds`` [s]."""
    def expire(*_):
        raise TimeoutError(f"ran longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
