"""LearnerGroup: places N LearnerWorkers in a placement group and drives them in lockstep."""

from __future__ import annotations

import time

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from alignrl.learners.worker import LearnerWorker
from alignrl.resources import actor_resources, free_port
from alignrl.waits import sliced_wait


class LearnerError(RuntimeError):
    """A learner rank failed or timed out; the run must stop and resume from a checkpoint."""


@ray.remote(num_cpus=0)
def _rendezvous() -> tuple[str, int]:
    """(address, free port) on the node this task runs on: where learner rank 0 hosts a group's store."""
    return ray.util.get_node_ip_address(), free_port("")


class LearnerGroup:
    def __init__(self, bundles: list[dict[str, float]], timeout_s: float, namespace: str | None = None,
                 setup_timeout_s: float | None = None, strategy: str = "PACK"):
        self.timeout_s = timeout_s  # train steps and weight export
        self.setup_timeout_s = setup_timeout_s or timeout_s  # placement, setup, checkpoints
        timeout_s = self.setup_timeout_s
        num_ranks = len(bundles)
        self.pg = placement_group(bundles, strategy=strategy)
        try:
            ray.get(self.pg.ready(), timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            remove_placement_group(self.pg)
            raise LearnerError(f"the cluster cannot place {num_ranks} learner ranks with {bundles[0]} each ({strategy}) "
                               f"within {timeout_s:.0f}s; available: {ray.available_resources()}") from None
        self.strategy = lambda i: PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=i)  # noqa: E731
        strategy = self.strategy
        addr, port = ray.get(_rendezvous.options(scheduling_strategy=strategy(0)).remote(), timeout=timeout_s)
        self.workers = []
        for i, b in enumerate(bundles):
            self.workers.append(LearnerWorker.options(
                name=f"learner-{i}", namespace=namespace, scheduling_strategy=strategy(i), **actor_resources(b),
            ).remote(i, num_ranks, addr, port, max(1, int(b["CPU"]))))

    def _all(self, refs: list, what: str, timeout_s: float | None = None):
        timeout_s = timeout_s or self.timeout_s
        _, pending = sliced_wait(refs, len(refs), time.monotonic() + timeout_s)  # a Ctrl-C lands meanwhile
        if pending:
            raise LearnerError(f"learner {what} timed out after {timeout_s:.0f}s")
        try:
            return ray.get(refs)
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as err:
            # A dead rank makes its peers fail too (the collective breaks): name the dead one.
            dead = self.dead_ranks()
            if dead:
                raise LearnerError(f"learner rank {', '.join(map(str, dead))} died during {what}; "
                                   f"resume from the last checkpoint with --resume") from None
            cause = getattr(err, "cause", None) or err
            raise LearnerError(f"learner {what} failed: {type(cause).__name__}: {cause}") from err

    def dead_ranks(self) -> list[int]:
        """Ranks that no longer answer (a colocated round's failure asks this too)."""
        dead = []
        for rank, worker in enumerate(self.workers):
            try:
                ray.get(worker.ping.remote(), timeout=10)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                dead.append(rank)
        return dead

    def setup(self, cfg_json: dict, model_dir: str, total_steps: int) -> list[dict]:
        return self._all([w.setup.remote(cfg_json, model_dir, total_steps, self.setup_timeout_s)
                          for w in self.workers], "setup", self.setup_timeout_s)

    def train_step_async(self, rows: list[dict]) -> list:
        """Shard rows evenly across ranks and start one step on each; returns the refs."""
        n = len(self.workers)
        if len(rows) % n:
            raise ValueError(f"{len(rows)} examples do not split evenly over {n} learner ranks")
        share = len(rows) // n
        return [w.train_step.remote(rows[i * share:(i + 1) * share]) for i, w in enumerate(self.workers)]

    def finish_step(self, refs: list) -> dict:
        """Wait for every rank and average their metrics (equal shares, so the mean is global)."""
        results = self._all(refs, "train step")
        keys = set().union(*results)
        return {k: sum(r.get(k, 0.0) for r in results) / len(results) for k in keys}

    def prepare_weights(self, transport: str, bucket_mb: float, zero_stage: int) -> tuple[int, object]:
        """(version, message) of the full policy for `transport`; ZeRO-3 gathers on every rank, else rank 0 alone."""
        workers = self.workers if zero_stage == 3 else self.workers[:1]
        return self._all([w.prepare_weights.remote(transport, bucket_mb) for w in workers], "weight export")[0]

    def connect_transport(self, transport: str, receivers: list) -> None:
        """Form a collective transport's group: learner rank 0 is rank 0, receiver i is rank i + 1."""
        addr, port = ray.get(_rendezvous.options(scheduling_strategy=self.strategy(0)).remote(), timeout=self.timeout_s)
        world = 1 + len(receivers)
        refs = [self.workers[0].connect_transport.remote(transport, addr, port, world, self.timeout_s)]
        refs += [r.connect_transport.remote(transport, addr, port, i + 1, world, self.timeout_s)
                 for i, r in enumerate(receivers)]
        self._all(refs, f"{transport} weight-transport group setup", self.setup_timeout_s)

    def send_weights_async(self, transport: str, timeout_s: float):
        """Start rank 0's side of a collective push; returns its ref."""
        return self.workers[0].send_weights.remote(transport, timeout_s)

    def digest(self) -> str:
        return self._all([w.digest.remote() for w in self.workers], "weight digest")[0]

    def save(self, out_dir: str, tag: str) -> None:
        self._all([w.save.remote(out_dir, tag) for w in self.workers], "checkpoint save", self.setup_timeout_s)

    def load(self, out_dir: str, tag: str, ref_version: int = 0) -> int:
        return self._all([w.load.remote(out_dir, tag, ref_version) for w in self.workers], "checkpoint load",
                         self.setup_timeout_s)[0]

    def reset_reference(self, version: int) -> None:
        """Each rank's reference becomes its current policy (ZeRO-3 gathers the weights on every rank)."""
        self._all([w.reset_reference.remote(version) for w in self.workers], "reference reset")

    def shutdown(self) -> None:
        for w in self.workers:
            ray.kill(w)
        remove_placement_group(self.pg)
