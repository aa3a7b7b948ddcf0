"""Ray waits that let the driver's signal handlers through.

A blocking Ray wait holds off Python's signal handlers until it returns, and a handler that raises
while Ray's wait is running surfaces as a SystemError around the handler's own exception. So every
long wait of the driver is cut into slices of at most POLL_S, and a stop raised inside a slice comes
out as itself.
"""

from __future__ import annotations

import time

import ray

POLL_S = 1.0


def sliced_wait(refs: list, num_returns: int, deadline: float) -> tuple[list, list]:
    """ray.wait until `num_returns` refs are ready or `deadline` (time.monotonic) passes: (ready, pending)."""
    ready, pending = [], list(refs)
    if not pending:
        return ready, pending
    while True:
        try:
            done, pending = ray.wait(pending, num_returns=min(num_returns - len(ready), len(pending)),
                                     timeout=min(POLL_S, max(0.0, deadline - time.monotonic())))
        except SystemError as err:  # a signal handler raised (a stop, a Ctrl-C) inside Ray's wait
            cause = err.__cause__ or err.__context__
            if isinstance(cause, BaseException) and not isinstance(cause, Exception):
                raise cause from None
            raise
        ready += done
        if len(ready) >= num_returns or not pending or time.monotonic() >= deadline:
            return ready, pending
