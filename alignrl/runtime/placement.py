"""Where each role runs: per-role custom resources and pack/spread placement groups, checked up front.

A layout the cluster cannot hold fails at once with what is missing, never as a silent pending hang.
"""

from __future__ import annotations

from collections import defaultdict

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from alignrl.algorithms import get_algorithm
from alignrl.config.schema import RunConfig
from alignrl.resources import actor_resources


class PlacementError(RuntimeError):
    """The cluster cannot hold the configured layout; the message lists what is missing."""


def role_bundles(cfg: RunConfig) -> dict[str, list[dict[str, float]]]:
    """One resource bundle per replica of every role."""
    r = cfg.resources

    def bundle(cpus: float, gpus: float, role: str) -> dict[str, float]:
        out = {"CPU": cpus, **r.where(role).resources}
        if gpus:
            out["GPU"] = gpus
        return out

    extra = get_algorithm(cfg.algorithm.name).roles(cfg.algorithm)  # frozen servers the algorithm adds
    return {
        **{role.name: [bundle(r.server_cpus, r.server_gpus, role.name)] for role in extra},
        "generator": [bundle(r.generator_cpus, r.generator_gpus, "generator")] * r.num_generators,
        "learner": [bundle(r.learner_cpus, r.learner_gpus, "learner")] * r.num_learners,
        "reference": [bundle(r.server_cpus, r.server_gpus, "reference")] if cfg.learner.reference == "actor" else [],
        "reward": [bundle(r.server_cpus, r.server_gpus, "reward")],
        "buffer": [bundle(0.0, 0.0, "buffer")],
    }


def check_fits(cfg: RunConfig) -> None:
    """Compare the layout's total demand with the cluster's resources; name every shortfall."""
    needed: dict[str, float] = defaultdict(float)
    for bundles in role_bundles(cfg).values():
        for b in bundles:
            for key, amount in b.items():
                needed[key] += amount
    have = ray.cluster_resources()
    missing = {k: (v, have.get(k, 0.0)) for k, v in needed.items() if v > have.get(k, 0.0) + 1e-9}
    if missing:
        detail = ", ".join(f"{k}: need {need:g}, cluster has {got:g}" for k, (need, got) in sorted(missing.items()))
        raise PlacementError(f"the cluster cannot hold this layout ({detail}); add nodes or change `resources`")


class RoleGroup:
    """A placement group for one multi-replica role (pack or spread), or none for a single actor."""

    def __init__(self, cfg: RunConfig, role: str, timeout_s: float):
        self.bundles = role_bundles(cfg)[role]
        strategy = "SPREAD" if cfg.resources.where(role).strategy == "spread" else "PACK"
        self.pg = placement_group(self.bundles, strategy=strategy) if self.bundles else None
        if self.pg is not None:
            try:
                ray.get(self.pg.ready(), timeout=timeout_s)
            except ray.exceptions.GetTimeoutError:
                remove_placement_group(self.pg)
                raise PlacementError(f"could not place {len(self.bundles)} {role} replica(s) of {self.bundles[0]} "
                                     f"({strategy}) within {timeout_s:.0f}s; available: "
                                     f"{ray.available_resources()}") from None

    def options(self, index: int) -> dict:
        """Actor options for replica `index`: its bundle's resources go through the placement group."""
        return dict(actor_resources(self.bundles[index]),
                    scheduling_strategy=PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=index))

    def shutdown(self) -> None:
        if self.pg is not None:
            remove_placement_group(self.pg)


def single_options(cfg: RunConfig, role: str) -> dict:
    """Actor options of a single-replica role (reference, reward, buffer, an algorithm's extra role)."""
    return actor_resources(role_bundles(cfg)[role][0])
