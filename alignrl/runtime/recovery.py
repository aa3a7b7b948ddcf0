"""Crash recovery for restartable actors: wait for the restart, restore state, re-issue lost work.

Ray restarts a crashed generator, reward, reference or buffer actor from its constructor
(`max_restarts`). What the constructor cannot know is restored here: the current policy weights
of a generator, the reset reference of an iterative run. The buffer restores itself from its
snapshot. Work that died with an actor is re-issued with the same prompts and seed.
"""

from __future__ import annotations

import time

import ray

from alignrl.learners.group import LearnerError
from alignrl.runtime.calls import ActorLostError, RuntimeTimeout, call
from alignrl.transport import SNAPSHOT_TRANSPORT


def actor_died(err: BaseException) -> bool:
    """True when the error (or what it wraps) is an actor crash rather than a failure of the work."""
    seen = err
    while seen is not None:
        if isinstance(seen, (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)):
            return True
        seen = getattr(seen, "cause", None)
    return False


class Recovery:
    def __init__(self, handles, rpc_timeout_s: float, max_restarts: int, telemetry):
        self.h, self.timeout, self.max_restarts, self.telemetry = handles, rpc_timeout_s, max_restarts, telemetry
        self.ref_buckets: list | None = None  # weights of a reset reference, kept for its restarts
        self.ref_version = 0

    def with_retries(self, make_ref, what: str):
        """Run an idempotent call, retrying across actor restarts."""
        for attempt in range(self.max_restarts + 1):
            try:
                return call(make_ref(), self.timeout, what)
            except RuntimeTimeout:
                raise
            except Exception as err:  # noqa: BLE001 - only crashes are retried
                if not actor_died(err):
                    raise
                if attempt == self.max_restarts:
                    raise ActorLostError(f"{what}: the actor did not come back after {self.max_restarts} "
                                         f"restart(s) (its node may be gone): {type(err).__name__}") from err
                self.telemetry.faults["faults/actor_restarts"] += 1
                time.sleep(1.0)
        raise AssertionError("unreachable")

    def restore_generator(self, g: int, version: int, weight_buckets) -> int:
        """Make generator g hold the learner's current `version` (a restart leaves it on its initial weights)."""
        if g < self.h.colocated:  # a learner rank: its weights are the learner's, and it does not restart
            if g in self.h.learners.dead_ranks():
                raise LearnerError(f"learner rank {g} died while generating (resources.layout: colocated); "
                                   f"resume from the last checkpoint with --resume")
            return version
        gen = self.h.generators[g]
        stats = self.with_retries(lambda: gen.stats.remote(), f"{self.h.generator_name(g)} after a crash")
        if stats["version"] != version:
            self.with_retries(lambda: gen.receive_weights.remote(SNAPSHOT_TRANSPORT, version, weight_buckets(),
                                                                 self.timeout),
                              f"weight restore of {self.h.generator_name(g)}")
        return version

    def restore_reference(self) -> None:
        if self.h.reference is None:
            return
        held = self.with_retries(lambda: self.h.reference.get_version.remote(), "reference-0 after a crash")
        if held != self.ref_version and self.ref_buckets is not None:
            self.with_retries(lambda: self.h.reference.receive_weights.remote(
                SNAPSHOT_TRANSPORT, self.ref_version, self.ref_buckets, self.timeout), "weight restore of reference-0")
