"""Actor calls with deadlines, and the errors a run reports by name."""

from __future__ import annotations

import ray


class RuntimeTimeout(RuntimeError):
    """An actor call outlived its timeout; the message names the actor and the call."""


class WeightSyncError(RuntimeError):
    """A weight sync failed; the message names the generator (or the broadcasting learner)."""


class FillError(RuntimeError):
    """Rounds keep yielding too few examples to fill a batch; the message says why and what to change."""


class ActorLostError(RuntimeError):
    """An actor crashed and did not come back (restarts exhausted, or its node is gone); names the actor."""


def call(ref, timeout_s: float, what: str):
    """ray.get with a deadline; a late call is a RuntimeTimeout that names it."""
    try:
        return ray.get(ref, timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        raise RuntimeTimeout(f"{what} did not finish within {timeout_s:.0f}s") from None
