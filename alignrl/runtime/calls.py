"""Actor calls with deadlines, and the errors a run reports by name."""

from __future__ import annotations

import time

import ray

from alignrl.waits import sliced_wait


class RuntimeTimeout(RuntimeError):
    """An actor call outlived its timeout; the message names the actor and the call."""


class WeightSyncError(RuntimeError):
    """A weight sync failed; the message names the generator (or the broadcasting learner)."""


class FillError(RuntimeError):
    """Rounds keep yielding too few examples to fill a batch; the message says why and what to change."""


class ActorLostError(RuntimeError):
    """An actor crashed and did not come back (restarts exhausted, or its node is gone); names the actor."""


def wait_any(refs: list, deadline: float) -> list:
    """The refs that are ready, as soon as one is, or [] at `deadline` (time.monotonic); signals land meanwhile."""
    return sliced_wait(refs, 1, deadline)[0]


def call(ref, timeout_s: float, what: str):
    """ray.get of one ref or a list of them, with a deadline; a late call is a RuntimeTimeout that names it."""
    refs = ref if isinstance(ref, list) else [ref]
    if sliced_wait(refs, len(refs), time.monotonic() + timeout_s)[1]:
        raise RuntimeTimeout(f"{what} did not finish within {timeout_s:.0f}s")
    return ray.get(ref)
