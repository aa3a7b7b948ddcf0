"""Wiring: the one module that knows the actor classes. It places every role of a run as named actors.

Roles every run has: replay-buffer-0, reward-0, generator-<i> and the learner ranks, plus reference-0
with `learner.reference: actor` (by default the learner ranks score the reference themselves).
An algorithm may add frozen server roles (ReAlign: reviser); each is built by a factory in
`ROLES`, registered here for the built-in ones and by plug-ins for their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from alignrl.actors.generator import GeneratorActor
from alignrl.actors.reference import ReferenceActor
from alignrl.learning.forward import ForwardOptions
from alignrl.actors.replay_buffer import ReplayBufferActor
from alignrl.actors.reviser import ReviserActor
from alignrl.actors.reward import RewardActor
from alignrl.config.schema import RunConfig
from alignrl.learners.group import LearnerGroup
from alignrl.registry import Registry
from alignrl.runtime.calls import call
from alignrl.runtime.controller import Handles
from alignrl.runtime.placement import RoleGroup, check_fits, role_bundles, single_options
from alignrl.runtime.session import RaySession

# factory(cfg, actor options, model dir the role serves, threads) -> actor handle; the actor must answer stats().
RoleFactory = Callable[[RunConfig, dict, str, int], object]
ROLES: Registry[RoleFactory] = Registry("actor role", "register one with alignrl.runtime.wiring.register_role")


def register_role(name: str, factory: RoleFactory) -> RoleFactory:
    return ROLES.register(name, factory)


def _reviser(cfg: RunConfig, options: dict, model_dir: str, threads: int):
    return ReviserActor.options(**options).remote(cfg.generation.backend, model_dir, cfg.model.dtype,
                                                  cfg.algorithm.reviser.template, cfg.runtime.seed, threads,
                                                  cfg.plugins)


register_role("reviser", _reviser)


def _threads(cpus: float) -> int:
    return max(1, int(cpus))


def place_actors(cfg: RunConfig, session: RaySession, policy_dir: Path, ckpt: Path | None,
                 schema: pa.Schema, version: int = 0, ref_version: int = 0, out: Path | None = None,
                 role_dirs: dict[str, str] | None = None) -> Handles:
    """Named actors `<role>-<i>` in the run's namespace, with the resources the config asks for.

    Generators, reward, reference and buffer restart after a crash (`runtime.max_actor_restarts`);
    the controller re-issues their lost work. Learner ranks do not: the run stops and resumes.
    `role_dirs` holds the model dir of each extra role the algorithm asks for.
    """
    r, rt, ns = cfg.resources, cfg.runtime, cfg.runtime.namespace
    restarts = rt.max_actor_restarts
    start_dir = str(ckpt / "policy") if ckpt else str(policy_dir)
    ref_dir = str(ckpt / "reference") if ckpt and (ckpt / "reference").is_dir() else str(policy_dir)
    check_fits(cfg)  # a layout the cluster cannot hold fails here, with what is missing
    snapshots = str(out / "buffer_state") if out is not None else None
    buffer = session.track(ReplayBufferActor.options(
        name="replay-buffer-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "buffer")).remote(
        schema, rt.max_staleness, snapshots))
    reward = session.track(RewardActor.options(
        name="reward-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "reward")).remote(
        cfg.reward.kind, cfg.reward.function, cfg.reward.model, cfg.reward.url, cfg.reward.timeout_s, cfg.plugins))
    reference = None  # learner.reference: learner: the learner ranks hold it (no process of its own)
    if cfg.learner.reference == "actor":
        reference = session.track(ReferenceActor.options(
            name="reference-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "reference")
        ).remote(ref_dir, cfg.model.dtype, 64, _threads(r.server_cpus), ref_version, ForwardOptions.from_config(cfg)))
    gen_group = RoleGroup(cfg, "generator", rt.setup_timeout_s)
    session.groups.append(gen_group)
    generators = [
        session.track(GeneratorActor.options(
            name=f"generator-{i}", namespace=ns, max_restarts=restarts, **gen_group.options(i)).remote(
            i, cfg.generation.backend, start_dir, cfg.model.dtype, rt.seed, _threads(r.generator_cpus), version,
            cfg.plugins))
        for i in range(r.num_generators)
    ]
    roles = {}
    for name, model_dir in (role_dirs or {}).items():
        options = dict(name=f"{name}-0", namespace=ns, max_restarts=restarts, **single_options(cfg, name))
        roles[name] = session.track(ROLES.get(name)(cfg, options, model_dir, _threads(r.server_cpus)))
    learner_strategy = "SPREAD" if r.where("learner").strategy == "spread" else "PACK"
    learners = LearnerGroup(role_bundles(cfg)["learner"], rt.rpc_timeout_s, ns, rt.setup_timeout_s, learner_strategy)
    session.groups.append(learners)
    # Wait for every server to finish loading, so start-up never eats into a call's timeout.
    ready = [("replay-buffer-0", buffer.size.remote()), ("reward-0", reward.ping.remote())]
    if reference is not None:
        ready.append(("reference-0", reference.get_version.remote()))
    ready += [(f"generator-{i}", g.stats.remote()) for i, g in enumerate(generators)]
    ready += [(f"{name}-0", actor.stats.remote()) for name, actor in roles.items()]
    for what, ref in ready:
        call(ref, rt.setup_timeout_s, f"start-up of {what}")
    # Colocated: the learner ranks are the first generator slots (they answer generate and stats from
    # their live weights); generator actors, if any, follow them.
    colocated = learners.workers if cfg.resources.layout == "colocated" else []
    return Handles(colocated + generators, reward, reference, buffer, learners, roles, len(colocated))
