"""Clean stops: the first SIGINT/SIGTERM stops the run between updates, a second one exits at once.

The handler raises `StopRequested` in the driver. Inside a `critical()` section (the controller's
bookkeeping: launching a round, committing a step, writing a checkpoint) the stop waits for the
section to end, so a stop never leaves an update half applied.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from contextlib import contextmanager

import psutil

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(BaseException):
    """Raised in the driver on the first stop signal. A BaseException, so `except Exception` lets it pass."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
        self.step: int | None = None  # the last finished step, filled in by the run
        self.checkpoint: str | None = None  # the checkpoint to resume from, if any


class StopSignals:
    """Owns the driver's SIGINT/SIGTERM handlers for the length of a run."""

    def __init__(self):
        self._previous: dict = {}
        self._depth = 0
        self.requested: int | None = None
        self._raised = False

    def install(self) -> None:
        """Install (or re-install, after a library replaced them) the handlers; main thread only."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in SIGNALS:
            current = signal.signal(sig, self._handle)
            if sig not in self._previous and current is not self._handle:
                self._previous[sig] = current

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        self._depth, self.requested, self._raised = 0, None, False

    @contextmanager
    def installed(self):
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def _handle(self, signum: int, frame) -> None:
        if self.requested is not None:
            _exit_now(signum)  # a second signal: the user wants out now, whatever is in flight
        self.requested = signum
        if self._depth == 0:
            self._raise()

    def _raise(self) -> None:
        self._raised = True
        raise StopRequested(self.requested)

    @contextmanager
    def critical(self):
        """A section a first stop signal must not cut in half; the stop is raised when it ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._depth == 0 and self.requested is not None and not self._raised:
            self._raise()


def _exit_now(signum: int) -> None:
    """Kill what this driver started (an embedded Ray's daemons and workers), then exit with 128+signum."""
    try:
        for child in psutil.Process().children(recursive=True):
            child.kill()
    except psutil.Error:
        pass  # already gone
    os._exit(128 + signum)


STOP = StopSignals()


def guarded(fn):
    """Run `fn` as a critical section of the process's stop handler."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with STOP.critical():
            return fn(*args, **kwargs)

    return wrapper
