"""What one round of data is: its source, its chain of actor calls, and its builder, read off the specs.

A round is either online (a generator samples prompts, the reward actor scores them, then the
algorithm's own round steps run, e.g. an extra role's call) or offline (a slice of the preference
dataset becomes dataset samples of the algorithm's data kind). Both then pass through the data
kind's extra scoring, the reference annotation and the kind's builder into the replay buffer, so
offline and online runs differ only in where samples come from. Nothing here names an algorithm:
the algorithm's spec and its data kind's record answer every question.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import ray

from alignrl.algorithms import RoundInputs, get_algorithm
from alignrl.config import ConfigError
from alignrl.config.schema import RunConfig
from alignrl.data.offline import OfflinePair
from alignrl.kinds import get_kind


class PipelineError(ConfigError):
    """The algorithm cannot run with the data the config gives it."""


@dataclass
class RoundBuild:
    examples: pa.Table
    dropped: list[str]  # sample ids no example uses ...
    evicted: list[str]  # ... and those scored under an older reference
    reasons: dict[str, int]  # dropped samples by reason: truncated (by the policy), unpaired (ties, empties, ...)
    cut: int  # samples that hit max_new_tokens, whatever the policy did with them


def data_source(cfg: RunConfig) -> str:
    """online or offline: the config's choice, or the algorithm's default (the config checked it is accepted)."""
    return cfg.data.source if cfg.data.source != "auto" else get_algorithm(cfg.algorithm.name).default_source


def needs_offline_pairs(cfg: RunConfig) -> bool:
    """Whether the run reads the preference dataset: offline runs, or rounds that use it (routes, pools, probes)."""
    spec = get_algorithm(cfg.algorithm.name)
    return data_source(cfg) == "offline" or spec.rounds(cfg.algorithm).reads_dataset


def uses_reference(cfg: RunConfig) -> bool:
    """Whether the loss reads reference log-probs (no reference calls are made otherwise)."""
    return get_algorithm(cfg.algorithm.name).uses_reference(cfg.algorithm)


class Pipeline:
    def __init__(self, cfg: RunConfig, train_prompts: list[dict], offline_pairs: list[OfflinePair] | None):
        self.cfg, self.params = cfg, cfg.algorithm
        self.spec = get_algorithm(cfg.algorithm.name)
        self.kind = get_kind(self.spec.kind)
        self.schema = self.kind.schema
        self.plan = self.spec.rounds(self.params)
        self.shape = self.spec.shape(self.params)
        self.per_prompt, self.block = self.shape.per_prompt, self.shape.block
        self.source = data_source(cfg)
        self.with_reference = uses_reference(cfg)
        # learner.reference: learner: the ranks score their share at train time, so rounds carry no reference
        # log-probs and nothing queued goes stale when the reference resets.
        self.reference_actor = self.with_reference and cfg.learner.reference == "actor"
        if self.with_reference and not self.reference_actor and self.kind.score_reference is None:
            raise PipelineError(f"data kind {self.kind.name} cannot score its reference in the learner ranks "
                                f"(it has no score_reference); set learner.reference: actor")
        self.train_prompts = train_prompts
        self.offline_pairs = offline_pairs or []
        self.off_by_prompt = {p.prompt_id: p for p in self.offline_pairs}
        rt = cfg.runtime
        if rt.prompts_per_step % self.block:
            raise PipelineError(f"runtime.prompts_per_step {rt.prompts_per_step} must be a multiple of the "
                                f"{self.spec.name} block of {self.block} samples (blocks never straddle rounds)")
        gen = cfg.generation
        self.truncated = self.kind.truncated if gen.truncated == "auto" else gen.truncated
        self.sampling = dict(max_new_tokens=cfg.generation.max_new_tokens, temperature=cfg.generation.temperature,
                             top_p=cfg.generation.top_p, top_k=cfg.generation.top_k)
        if needs_offline_pairs(cfg) and not self.offline_pairs:
            raise PipelineError(f"{self.spec.name} with data.source {self.source} needs offline pairs")
        if self.source == "offline" and self.kind.dataset_samples is None:
            raise PipelineError(f"data.source: {self.kind.name} examples cannot be built from a dataset")

    @property
    def online(self) -> bool:
        return self.source == "online"

    def items(self) -> list:
        """What rounds draw from: training prompts (online) or dataset pairs (offline)."""
        return self.train_prompts if self.online else self.offline_pairs

    def examples_per_round(self) -> int:
        return self.cfg.runtime.prompts_per_step // self.block

    def dataset_samples(self, pairs: list, tag: str, version: int) -> list[dict]:
        return [s for i, pair in enumerate(pairs) for s in self.kind.dataset_samples(pair, f"{tag}.{i}", version)]

    # -- one round -------------------------------------------------------------------------------
    def launch(self, handles, slot: int, items: list, round_id: int, version: int):
        """Start the round's chain of calls: (generation ref or None, ref of the annotated samples)."""
        h, seed = handles, self.cfg.runtime.seed * 1_000_003 + round_id
        gen_ref = None
        if self.online:
            inputs = RoundInputs(items, self.off_by_prompt, self.sampling, seed, round_id, version, self.params,
                                 self.cfg.runtime.seed,
                                 lambda pair, tag: self.kind.dataset_samples(pair, tag, version))
            prompts, extra = self.plan.route(inputs) if self.plan.route else (items, [])
            if prompts:
                gen_ref = h.generators[slot].generate.remote(prompts, self.per_prompt, self.sampling, seed)
            scored = h.reward.fill.remote(gen_ref if gen_ref is not None else [], extra)
            for step in self.plan.steps:  # e.g. drafts -> revisions, scored on the original request
                actor = getattr(h.roles[step.role], step.method)
                scored = h.reward.fill.remote(actor.remote(scored, *step.args(inputs)))
        else:
            samples = self.dataset_samples(items, f"d{round_id}", version)
            scored = h.reward.fill.remote(samples) if self.kind.dataset_rewards else samples
        if self.kind.cross_blocks:
            scored = h.reward.fill_cross.remote(scored, self.block)
        if not self.reference_actor:
            return gen_ref, scored if isinstance(scored, ray.ObjectRef) else ray.put(scored)
        if self.kind.cross_blocks:
            return gen_ref, h.reference.annotate_cross.remote(scored, self.block)
        return gen_ref, h.reference.annotate.remote(scored, self.kind.prompt_logp)

    def round_metrics(self, samples: list[dict]) -> dict[str, float]:
        """Per-round diagnostics beyond the loss, from the algorithm's spec (ReAlign's revision gain)."""
        return self.spec.round_metrics(samples)

    def build(self, samples: list[dict], ref_version: int) -> RoundBuild:
        """The round's examples, with every unused sample's id and the reason it went unused."""
        cut = {s["sample_id"] for s in samples if s.get("finished") is False}
        if self.truncated == "drop":
            samples = [s for s in samples if s["sample_id"] not in cut]
        elif self.truncated == "penalize" and cut:
            penalty = self.cfg.generation.truncation_penalty
            samples = [dict(s, reward=s["reward"] - penalty) if s["sample_id"] in cut else s for s in samples]
        examples, unused, evicted = self.kind.build(samples, ref_version if self.reference_actor else None, self.shape)
        dropped = sorted(cut) if self.truncated == "drop" else []
        return RoundBuild(examples, dropped + unused, evicted,
                          {"truncated": len(dropped), "unpaired": len(unused)}, len(cut))
