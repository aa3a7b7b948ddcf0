"""SimpleMix (docs/algorithms.md §6): DPO on a 50/50 mixture of on- and off-policy pairs."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import Field

from alignrl.algorithms.builders import PreferencePair
from alignrl.algorithms.dpo import pairwise_dpo
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, RoundInputs, RoundPlan, register


class SimpleMixParams(AlgorithmParams):
    name: Literal["simplemix"] = "simplemix"
    beta: float = Field(0.01, gt=0, description="DPO beta (ReAlign's SimpleMix setting: 0.01)")
    mix: Literal["per_prompt", "union_subsample"] = Field(
        "per_prompt", description="per_prompt: a seeded coin picks on or off per prompt; union_subsample: keep a share of each set"
    )
    on_fraction: float = Field(0.5, ge=0, le=1, description="probability (or share) of on-policy pairs; BS_on for the soft variant")
    samples_per_prompt: int = Field(5, ge=2, description="on-policy samples per prompt in the one-off pass")


def simplemix_pairs(
    on_pairs: list[PreferencePair],
    off_pairs: list[PreferencePair],
    seed: int,
    mix: str = "per_prompt",
    on_fraction: float = 0.5,
) -> list[PreferencePair]:
    """Mix on- and off-policy pairs over the same prompts.

    per_prompt: for each prompt, take its on pair with probability `on_fraction`, else its off pair
    (falling back to whichever exists), so the result has one pair per prompt.
    union_subsample: keep a seeded `on_fraction` share of the on pairs and the complementary
    share of the off pairs.
    """
    rng = random.Random(seed)
    if mix == "union_subsample":
        on = rng.sample(on_pairs, round(on_fraction * len(on_pairs)))
        off = rng.sample(off_pairs, round((1 - on_fraction) * len(off_pairs)))
        mixed = on + off
        rng.shuffle(mixed)
        return mixed
    if mix != "per_prompt":
        raise ValueError(f"unknown SimpleMix mix {mix!r}; use per_prompt or union_subsample")
    on_by_prompt = {p.prompt_id: p for p in on_pairs}
    off_by_prompt = {p.prompt_id: p for p in off_pairs}
    order = list(dict.fromkeys([p.prompt_id for p in on_pairs] + [p.prompt_id for p in off_pairs]))
    mixed = []
    for prompt_id in order:
        take_on = rng.random() < on_fraction
        pick = on_by_prompt.get(prompt_id) if take_on else off_by_prompt.get(prompt_id)
        mixed.append(pick or on_by_prompt.get(prompt_id) or off_by_prompt[prompt_id])
    return mixed


def route_per_prompt(inputs: RoundInputs) -> tuple[list[dict], list[dict]]:
    """A round of the runtime: a seeded coin sends each prompt to generation or to its dataset pair."""
    rng = random.Random(f"{inputs.run_seed}:mix:{inputs.round_id}")
    online, offline = [], []
    for i, prompt in enumerate(inputs.prompts):
        pair = inputs.dataset.get(prompt["prompt_id"])
        if pair is None or rng.random() < inputs.params.on_fraction:
            online.append(prompt)
        else:
            offline.extend(inputs.dataset_samples(pair, f"m{inputs.round_id}.{i}"))
    return online, offline


def _runtime_check(params: SimpleMixParams, source: str) -> str | None:
    if params.mix != "per_prompt":
        return ("algorithm.mix: the runtime mixes per prompt (per_prompt); union_subsample is for pre-built "
                "pair sets (alignrl.algorithms.simplemix.simplemix_pairs)")
    return None


register(AlgorithmSpec("simplemix", SimpleMixParams, "pairwise", pairwise_dpo,
                       summary="SimpleMix: DPO on a seeded 50/50 mix of on- and off-policy pairs",
                       sources=("online", "offline"),
                       rounds=lambda params: RoundPlan(route=route_per_prompt, reads_dataset=True),
                       check=_runtime_check))
