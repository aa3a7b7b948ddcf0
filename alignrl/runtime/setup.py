"""Run setup: the initial policy directory, actor placement, and checkpoint writing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
from transformers import AutoTokenizer

from actors.generator import GeneratorActor
from actors.reference import ReferenceActor
from actors.replay_buffer import ReplayBufferActor
from actors.reviser import ReviserActor
from actors.reward import RewardActor
from alignrl.buffer import write_state
from alignrl.config.schema import RunConfig
from alignrl.models.policy import policy_from_config
from alignrl.models.reviser import train_reviser
from alignrl.models.sft import run_sft
from alignrl.models.tiny import save_model_dir
from alignrl.runtime.checkpoint import atomic_checkpoint, config_fingerprint, step_dir, write_json
from alignrl.runtime.calls import call
from alignrl.runtime.controller import Controller, Handles
from alignrl.runtime.placement import RoleGroup, check_fits, role_bundles, single_options
from alignrl.runtime.session import RaySession
from learners.group import LearnerGroup


def _fingerprint(cfg: RunConfig, sections: tuple[str, ...]) -> str:
    data = {k: getattr(cfg, k).model_dump(mode="json") for k in sections}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def initial_policy(cfg: RunConfig, out: Path):
    """The policy every actor starts from, as a local safetensors dir; the SFT warm-up is cached."""
    if cfg.model.path is not None and Path(cfg.model.path).is_dir():
        policy_dir = Path(cfg.model.path)
    elif cfg.model.path is None and cfg.model.sft_warmup:
        sft_dir = out / "sft"
        policy_dir = sft_dir / "policy"
        stamp = sft_dir / "fingerprint"
        key = _fingerprint(cfg, ("model", "data", "sft"))
        if not (policy_dir.is_dir() and stamp.is_file() and stamp.read_text() == key):
            result = run_sft(cfg, sft_dir)
            print(f"SFT warm-up: held-out reward {result.reward_before:.3f} -> {result.reward_after:.3f} "
                  f"in {result.seconds:.1f}s")
            stamp.write_text(key)
    else:
        policy_dir = out / "init" / "policy"
        model, tokenizer = policy_from_config(cfg.model)
        save_model_dir(model, tokenizer, policy_dir)
    return policy_dir, AutoTokenizer.from_pretrained(policy_dir)


def reviser_model(cfg: RunConfig, out: Path, policy_dir: Path) -> Path:
    """ReAlign's reviser: the configured one, or one trained from the initial policy (cached by config)."""
    params = cfg.algorithm.reviser
    if params.path is not None:
        return Path(params.path)
    root = out / "reviser"
    stamp, model_dir = root / "fingerprint", root / "model"
    key = _fingerprint(cfg, ("model", "data", "sft")) + json.dumps(params.model_dump(mode="json"), sort_keys=True)
    if not (model_dir.is_dir() and stamp.is_file() and stamp.read_text() == key):
        result = train_reviser(cfg, policy_dir, root)
        print(f"reviser: held-out drafts {result.draft_reward:.3f} -> revisions {result.revision_reward:.3f} "
              f"(win rate {result.revision_win_rate:.2f}) in {result.seconds:.1f}s")
        stamp.write_text(key)
    return model_dir


def place_actors(cfg: RunConfig, session: RaySession, policy_dir: Path, ckpt: Path | None,
                 schema: pa.Schema, version: int = 0, ref_version: int = 0, out: Path | None = None,
                 reviser_dir: Path | None = None) -> Handles:
    """Named actors `<role>-<i>` in the run's namespace, with the resources the config asks for.

    Generators, reward, reference and buffer restart after a crash (`runtime.max_actor_restarts`);
    the controller re-issues their lost work. Learner ranks do not: the run stops and resumes.
    """
    r, rt, ns = cfg.resources, cfg.runtime, cfg.runtime.namespace
    restarts = rt.max_actor_restarts
    start_dir = str(ckpt / "policy") if ckpt else str(policy_dir)
    ref_dir = str(ckpt / "reference") if ckpt and (ckpt / "reference").is_dir() else str(policy_dir)
    threads = lambda cpus: max(1, int(cpus))  # noqa: E731
    check_fits(cfg)  # a layout the cluster cannot hold fails here, with what is missing
    snapshots = str(out / "buffer_state") if out is not None else None
    buffer = session.track(ReplayBufferActor.options(
        name="replay-buffer-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "buffer")).remote(
        schema, rt.max_staleness, snapshots))
    reward = session.track(RewardActor.options(
        name="reward-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "reward")).remote(
        cfg.reward.kind, cfg.reward.function, cfg.reward.model, cfg.reward.url, cfg.reward.timeout_s))
    reference = session.track(ReferenceActor.options(
        name="reference-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "reference")
    ).remote(ref_dir, cfg.model.dtype, 64, threads(r.server_cpus), ref_version))
    gen_group = RoleGroup(cfg, "generator", rt.setup_timeout_s)
    session.groups.append(gen_group)
    generators = [
        session.track(GeneratorActor.options(
            name=f"generator-{i}", namespace=ns, max_restarts=restarts, **gen_group.options(i)).remote(
            i, cfg.generation.backend, start_dir, cfg.model.dtype, rt.seed, threads(r.generator_cpus), version))
        for i in range(r.num_generators)
    ]
    reviser = None
    if reviser_dir is not None:
        reviser = session.track(ReviserActor.options(
            name="reviser-0", namespace=ns, max_restarts=restarts, **single_options(cfg, "reviser")).remote(
            cfg.generation.backend, str(reviser_dir), cfg.model.dtype, cfg.algorithm.reviser.template, rt.seed,
            threads(r.server_cpus)))
    learner_strategy = "SPREAD" if r.where("learner").strategy == "spread" else "PACK"
    learners = LearnerGroup(role_bundles(cfg)["learner"], rt.rpc_timeout_s, ns, rt.setup_timeout_s, learner_strategy)
    session.groups.append(learners)
    # Wait for every server to finish loading, so start-up never eats into a call's timeout.
    for what, ref in [("replay-buffer-0", buffer.size.remote()), ("reward-0", reward.ping.remote()),
                      ("reference-0", reference.get_version.remote())] + [
                         (f"generator-{i}", g.stats.remote()) for i, g in enumerate(generators)] + (
                         [("reviser-0", reviser.stats.remote())] if reviser is not None else []):
        call(ref, rt.setup_timeout_s, f"start-up of {what}")
    return Handles(generators, reward, reference, buffer, learners, reviser)


def save_checkpoint(cfg: RunConfig, cfg_json: dict, out: Path, controller: Controller, handles: Handles) -> Path:
    """Write everything to a staging dir, then rename it into place (atomic on one filesystem)."""
    version, timeout = controller.state.version, cfg.runtime.rpc_timeout_s
    with atomic_checkpoint(out, version, cfg.checkpoint.keep_last) as staging:
        handles.learners.save(str(staging), "state")
        if controller.state.ref_version > 0:
            call(handles.reference.save.remote(str(staging / "reference")), timeout, "reference-0 save")
        write_state(staging, controller.buffer("state"))
        write_json(staging / "controller.json", {"fingerprint": config_fingerprint(cfg_json),
                                                 "state": controller.state.to_json()})
    return step_dir(out, version)
