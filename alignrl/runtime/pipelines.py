"""What one round of data is, per algorithm: its source, its chain of actor calls, and its builder.

A round is either online (a generator samples prompts, the reward actor scores them) or offline
(a slice of the preference dataset becomes dataset samples). Both then pass through the same
reference annotation and example builder into the replay buffer, so offline and online runs
differ only in where samples come from.
"""

from __future__ import annotations

import random

import ray

from alignrl.algorithms import get_algorithm
from alignrl.config import ConfigError
from alignrl.config.schema import RunConfig
from alignrl.data.example_schemas import EXAMPLE_SCHEMAS
from alignrl.data.offline import OfflinePair, dataset_samples
from alignrl.learning.examples import block_examples, group_examples, pair_examples, point_examples


class PipelineError(ConfigError):
    """The algorithm cannot run with the data source the config asks for."""


def data_source(cfg: RunConfig) -> str:
    spec = get_algorithm(cfg.algorithm.name)
    source = cfg.data.source if cfg.data.source != "auto" else ("online" if spec.online else "offline")
    if source == "offline" and spec.kind == "group":
        raise PipelineError(f"data.source: {spec.name} samples groups from the current policy and cannot train "
                            f"from a dataset (use data.source: online)")
    if source == "offline" and spec.name == "realign":
        raise PipelineError("data.source: realign revises the policy's own drafts and needs data.source: online")
    return source


def needs_offline_pairs(cfg: RunConfig) -> bool:
    """Whether rounds read the preference dataset: offline runs, SimpleMix, the boundary probe, ReAlign's S-formats."""
    params = cfg.algorithm
    return (data_source(cfg) == "offline" or params.name == "simplemix"
            or getattr(getattr(params, "boundary", None), "enabled", False)
            or any(f.startswith("S-") for f in getattr(params, "formats", [])))


def uses_reference(cfg: RunConfig) -> bool:
    """Whether the loss reads reference log-probs (no reference calls are made otherwise)."""
    params, spec = cfg.algorithm, get_algorithm(cfg.algorithm.name)
    if spec.name == "slic":
        return params.variant == "hinge"
    if spec.kind == "group":
        return params.beta > 0
    if spec.name == "realign":
        return params.inner_loss == "dpo"
    return spec.needs_reference


class Pipeline:
    def __init__(self, cfg: RunConfig, train_prompts: list[dict], offline_pairs: list[OfflinePair] | None):
        self.cfg, self.params = cfg, cfg.algorithm
        self.spec = get_algorithm(cfg.algorithm.name)
        self.kind = self.spec.kind
        self.schema = EXAMPLE_SCHEMAS[self.kind]
        self.source = data_source(cfg)
        self.with_reference = uses_reference(cfg)
        self.train_prompts = train_prompts
        self.offline_pairs = offline_pairs or []
        self.off_by_prompt = {p.prompt_id: p for p in self.offline_pairs}
        if self.kind == "group":
            self.per_prompt = self.params.group_size
        elif self.kind == "weighted_sft":
            self.per_prompt = 1
        else:
            self.per_prompt = getattr(self.params, "samples_per_prompt", cfg.runtime.samples_per_prompt)
        self.block = getattr(self.params, "micro_batch", 1)
        rt = cfg.runtime
        if self.spec.name == "simplemix" and self.params.mix != "per_prompt":
            raise PipelineError("algorithm.mix: the runtime mixes per prompt (per_prompt); union_subsample is "
                                "for pre-built pair sets (alignrl.algorithms.simplemix.simplemix_pairs)")
        if self.kind == "weighted_sft" and rt.prompts_per_step % self.block:
            raise PipelineError(f"runtime.prompts_per_step {rt.prompts_per_step} must be a multiple of "
                                f"algorithm.micro_batch {self.block} (VAR blocks never straddle rounds)")
        max_new = cfg.generation.max_new_tokens
        if self.kind == "group":
            max_new = min(max_new, self.params.max_completion_length)
        self.sampling = dict(max_new_tokens=max_new, temperature=cfg.generation.temperature,
                             top_p=cfg.generation.top_p, top_k=cfg.generation.top_k)
        if needs_offline_pairs(cfg) and not self.offline_pairs:
            raise PipelineError(f"{self.spec.name} with data.source {self.source} needs offline pairs")

    @property
    def online(self) -> bool:
        return self.source == "online"

    def items(self) -> list:
        """What rounds draw from: training prompts (online) or dataset pairs (offline)."""
        return self.train_prompts if self.online else self.offline_pairs

    def examples_per_round(self) -> int:
        n = self.cfg.runtime.prompts_per_step
        return n // self.block if self.kind == "weighted_sft" else n

    # -- one round -------------------------------------------------------------------------------
    def launch(self, handles, slot: int, items: list, round_id: int, version: int):
        """Start the round's chain of calls: (generation ref or None, ref of the annotated samples)."""
        h, seed = handles, self.cfg.runtime.seed * 1_000_003 + round_id
        gen_ref = None
        if self.online:
            prompts, extra = items, []
            if self.spec.name == "simplemix":
                prompts, extra = self._mix(items, round_id, version)
            gen_ref = h.generators[slot].generate.remote(prompts, self.per_prompt, self.sampling, seed) if prompts \
                else None
            samples = gen_ref if gen_ref is not None else []
            scored = h.reward.fill.remote(samples, extra)
            if self.spec.name == "realign":  # drafts -> revisions, scored on the original request
                revised = h.reviser.revise.remote(scored, self.params.formats, self._strong(items), self.sampling,
                                                  seed + 1)
                scored = h.reward.fill.remote(revised)
        else:
            samples = [s for i, pair in enumerate(items)
                       for s in dataset_samples(pair, f"d{round_id}.{i}", version, self.kind)]
            needs_rewards = self.kind == "pointwise"
            scored = h.reward.fill.remote(samples) if needs_rewards else samples
        if self.kind == "weighted_sft":
            scored = h.reward.fill_cross.remote(scored, self.block)
        if not self.with_reference:
            return gen_ref, scored if isinstance(scored, ray.ObjectRef) else ray.put(scored)
        if self.kind == "weighted_sft":
            return gen_ref, h.reference.annotate_cross.remote(scored, self.block)
        return gen_ref, h.reference.annotate.remote(scored, self.kind == "pointwise")

    def _mix(self, prompts: list[dict], round_id: int, version: int) -> tuple[list[dict], list[dict]]:
        """SimpleMix per_prompt: a seeded coin sends each prompt to generation or to its dataset pair."""
        rng = random.Random(f"{self.cfg.runtime.seed}:mix:{round_id}")
        online, offline = [], []
        for i, prompt in enumerate(prompts):
            pair = self.off_by_prompt.get(prompt["prompt_id"])
            if pair is None or rng.random() < self.params.on_fraction:
                online.append(prompt)
            else:
                offline.extend(dataset_samples(pair, f"m{round_id}.{i}", version, "pairwise"))
        return online, offline

    def _strong(self, prompts: list[dict]) -> dict[str, dict]:
        """ReAlign S-D/S-A: the strong pool's best/worst pair of each prompt in the round."""
        if not any(f.startswith("S-") for f in self.params.formats):
            return {}
        out = {}
        for prompt in prompts:
            pair = self.off_by_prompt.get(prompt["prompt_id"])
            if pair is not None:
                out[pair.prompt_id] = {"chosen": pair.chosen, "rejected": pair.rejected,
                                       "chosen_token_ids": pair.chosen_token_ids,
                                       "rejected_token_ids": pair.rejected_token_ids,
                                       "chosen_reward": pair.chosen_reward, "rejected_reward": pair.rejected_reward}
        return out

    def round_metrics(self, samples: list[dict]) -> dict[str, float]:
        """Per-round diagnostics beyond the loss: ReAlign's revision gain and win rate over drafts."""
        revised = [s for s in samples if s.get("draft_reward") is not None and s.get("reward") is not None]
        if not revised:
            return {}
        gains = [s["reward"] - s["draft_reward"] for s in revised]
        return {"realign/revision_gain": sum(gains) / len(gains),
                "realign/revision_win_rate": sum(g > 0 for g in gains) / len(gains),
                "realign/revision_reward": sum(s["reward"] for s in revised) / len(revised)}

    def build(self, samples: list[dict], ref_version: int):
        ref = ref_version if self.with_reference else None
        if self.kind == "pairwise":
            return pair_examples(samples, ref)
        if self.kind == "group":
            return group_examples(samples, ref, self.per_prompt)
        if self.kind == "pointwise":
            return point_examples(samples, ref)
        return block_examples(samples, ref, self.block)
