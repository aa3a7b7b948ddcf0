"""ReAlign (docs/algorithms.md §7): reviser pairs, revision-task policy pairs, and the Eq. 5 loss."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.builders import PreferencePair, ScoredResponse, best_worst_pair
from alignrl.algorithms.common import LossOutput
from alignrl.algorithms.dpo import dpo_loss, require_reference
from alignrl.algorithms.registry import (AlgorithmParams, AlgorithmSpec, ExtraRole, RoleCall, RoundInputs, RoundPlan,
                                         register)
from alignrl.algorithms.simpo import length_normalised, simpo_loss
from alignrl.typed import StrictModel

REVISION_TEMPLATE = (
    "Below is a user request and a draft response. Rewrite the draft into an improved response to the\n"
    "request: fix mistakes, fill in what is missing, improve clarity and helpfulness, and keep what is\n"
    "already good. Output only the improved response.\n\n"
    "### Request:\n{request}\n\n### Draft response:\n{draft}"
)
# [OURS] A short template for tiny character-level models, where every template character is a token.
COMPACT_TEMPLATE = "Revise the draft.\nRequest: {request}\nDraft: {draft}"
TEMPLATES = {"full": REVISION_TEMPLATE, "compact": COMPACT_TEMPLATE}
FORMATS = ("P-D", "S-D", "S-A", "R-D", "R-A")


def revision_context(request: str, draft: str, template: str = "full") -> str:
    """T_rev(x, d): the user turn that asks for a revision (rendered later by the chat template)."""
    return TEMPLATES[template].format(request=request, draft=draft)


def reviser_rank_triples(
    pool_size: int, k: int = 4, top_anchor_chosen: str = "best", reviser_pairing: str = "anchor_step"
) -> list[tuple[int, int, int]]:
    """(anchor, chosen, rejected) 1-based ranks for quantile-anchored reviser DPO (Algorithm 1).

    M = 20, k = 4 gives (15, 10, 20), (10, 5, 15), (5, 1, 10).
    """
    m = pool_size
    if k < 2 or m < k:
        raise ValueError(f"need 2 <= k <= pool size, got k={k}, M={m}")
    anchors = [j * m // k for j in range(1, k)]  # a_1..a_{k-1}
    if k == 2:
        return [(anchors[0], 1, m)]
    if reviser_pairing == "adjacent_rank":
        return [(a, a - 1, a + 1) for a in reversed(anchors)]
    if reviser_pairing != "anchor_step":
        raise ValueError(f"unknown reviser_pairing {reviser_pairing!r}")
    triples = []
    for i in range(k - 1, 0, -1):
        anchor = anchors[i - 1]
        if i == k - 1:
            chosen, rejected = anchors[k - 3], m
        elif i == 1:
            chosen = 1 if top_anchor_chosen == "best" else anchors[0]
            rejected = anchors[1]
        else:
            chosen, rejected = anchors[i - 2], anchors[i]
        triples.append((anchor, chosen, rejected))
    return triples


def reviser_pairs(request: str, prompt_id: str, ranked_pool: list[str], params: RealignParams) -> list[PreferencePair]:
    """Reviser DPO pairs from a pool ranked best-first: conditioned on the anchor, chosen > rejected."""
    triples = reviser_rank_triples(len(ranked_pool), params.k, params.top_anchor_chosen, params.reviser_pairing)
    template = params.reviser.template
    return [
        PreferencePair(prompt_id, revision_context(request, ranked_pool[a - 1], template), ranked_pool[c - 1],
                       ranked_pool[r - 1], float(-c), float(-r), "revision")
        for a, c, r in triples
    ]


def policy_pairs(
    request: str,
    drafts: list[ScoredResponse],
    revisions: list[ScoredResponse] | None,
    strong_ranked: list[str] | None,
    formats: list[str] | tuple[str, ...],
) -> list[PreferencePair]:
    """Build the selected ablation formats for one prompt (docs/algorithms.md §7B, Table 3).

    `drafts` are the policy samples y^P, `revisions[j]` revises `drafts[j]`, and `strong_ranked`
    is the strong pool best-first. Revision rewards must already be scored on the original request.
    """
    best_draft = best_worst_pair(drafts, "on")
    out: list[PreferencePair] = []
    for fmt in formats:
        pair = None
        if fmt == "P-D":
            pair = best_draft
        elif fmt in ("R-D", "R-A"):
            if not revisions:
                raise ValueError(f"format {fmt} needs revisions of the drafts")
            context = request if fmt == "R-D" else (
                revision_context(request, best_draft.chosen) if best_draft else None)
            pair = best_worst_pair(revisions, "revision", context=context) if context is not None else None
        elif fmt in ("S-D", "S-A"):
            if not strong_ranked or len(strong_ranked) < 2:
                raise ValueError(f"format {fmt} needs a strong pool of at least 2 responses")
            context = request if fmt == "S-D" else (
                revision_context(request, best_draft.chosen) if best_draft else None)
            if context is not None and strong_ranked[0] != strong_ranked[-1]:
                pair = PreferencePair(drafts[0].prompt_id, context, strong_ranked[0], strong_ranked[-1],
                                      0.0, -1.0, "strong")
        else:
            raise ValueError(f"unknown ReAlign format {fmt!r}; choose from {FORMATS}")
        if pair is not None:
            out.append(pair)
    return out


def realign_reduction(per_pair: torch.Tensor, sources: list[str], reduction: str) -> torch.Tensor:
    """pooled: mean over every pair; sum_of_means: the literal Eq. 5, a mean per source, summed."""
    if reduction == "pooled":
        return per_pair.mean()
    if reduction != "sum_of_means":
        raise ValueError(f"unknown realign_reduction {reduction!r}")
    total = per_pair.new_zeros(())
    for name in sorted(set(sources)):
        sel = torch.tensor([s == name for s in sources])
        total = total + per_pair[sel].mean()
    return total


class ReviserParams(StrictModel):
    """Stage A: the reviser R (docs/algorithms.md §7A), trained before the policy unless `path` is given."""

    path: str | None = Field(None, description="a trained reviser (HF dir); null trains one, cached under OUT/reviser")
    template: Literal["full", "compact"] = Field("full", description="revision template: the spec's, or a short one for tiny models")
    sft_fraction: float = Field(0.3, gt=0, lt=1, description="share of training prompts for the warm-up (rest: DPO)")
    sft_steps: int = Field(200, ge=0, description="warm-up steps on (worst -> best) revisions")
    sft_lr: float = Field(1e-3, gt=0, description="warm-up learning rate (paper: 5e-6 for 8B models)")
    dpo_steps: int = Field(100, ge=0, description="quantile-anchored DPO steps")
    dpo_lr: float = Field(1e-4, gt=0, description="reviser DPO learning rate (paper: unreported; policy value)")
    beta: float = Field(0.1, gt=0, description="reviser DPO beta (paper: unreported)")
    batch_size: int = Field(32, ge=1, description="sequences (warm-up) or pairs (DPO) per step")
    pool_per_oracle: int = Field(5, ge=1, description="strong pool: samples per scripted oracle (4 oracles -> M = 20)")


class RealignParams(AlgorithmParams):
    name: Literal["realign"] = "realign"
    inner_loss: Literal["dpo", "simpo"] = Field("dpo", description="L_O of Eq. 5")
    beta: float = Field(0.01, gt=0, description="DPO beta (Table 5: 0.01); SimPO uses simpo_beta")
    simpo_beta: float = Field(10.0, gt=0, description="SimPO beta when inner_loss is simpo")
    simpo_gamma: float = Field(3.0, ge=0, description="SimPO target margin when inner_loss is simpo")
    formats: list[str] = Field(["P-D", "R-A"], description="pair formats trained on; ReAlign = P-D + R-A")
    realign_reduction: Literal["pooled", "sum_of_means"] = Field("pooled", description="Eq. 5 reduction [RECON]")
    samples_per_prompt: int = Field(5, ge=2, description="policy drafts per prompt (paper: 5)")
    k: int = Field(4, ge=2, description="quantiles of the strong pool for reviser DPO")
    top_anchor_chosen: Literal["best", "self"] = Field("best", description="[RECON] chosen of the top anchor pair")
    reviser_pairing: Literal["anchor_step", "adjacent_rank"] = Field("anchor_step", description="[RECON] reviser pairing")
    reviser: ReviserParams = Field(default_factory=ReviserParams, description="the reviser model and its training")

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, values: list[str]) -> list[str]:
        for fmt in values:
            if fmt not in FORMATS:
                raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        if not values:
            raise ValueError("choose at least one format")
        for family in (("R-A", "R-D"), ("S-A", "S-D")):
            if all(f in values for f in family):
                raise ValueError(f"{family[0]} and {family[1]} train on the same responses; pick one of them")
        return values


def _realign(batch: PairBatch, params: RealignParams) -> LossOutput:
    sources = batch.sources or ["on"] * len(batch)
    if params.inner_loss == "dpo":
        ref_w, ref_l = require_reference(batch, "realign (dpo)")
        out = dpo_loss(batch.policy_chosen, batch.policy_rejected, ref_w, ref_l, params.beta, sources)
    else:
        avg_w, avg_l = length_normalised(batch, "realign (simpo)")
        out = simpo_loss(avg_w, avg_l, params.simpo_beta, params.simpo_gamma, sources)
    out.loss = realign_reduction(out.per_example, sources, params.realign_reduction)
    return out


def strong_pairs(inputs: RoundInputs) -> dict[str, dict]:
    """S-D/S-A: the strong pool's best/worst pair (the preference dataset's) of each prompt in the round."""
    if not any(f.startswith("S-") for f in inputs.params.formats):
        return {}
    out = {}
    for prompt in inputs.prompts:
        pair = inputs.dataset.get(prompt["prompt_id"])
        if pair is not None:
            out[pair.prompt_id] = {"chosen": pair.chosen, "rejected": pair.rejected,
                                   "chosen_token_ids": pair.chosen_token_ids,
                                   "rejected_token_ids": pair.rejected_token_ids,
                                   "chosen_reward": pair.chosen_reward, "rejected_reward": pair.rejected_reward}
    return out


def revision_metrics(samples: list[dict]) -> dict[str, float]:
    """Per round: how much the reviser's revisions beat the drafts they revise, by reward."""
    revised = [s for s in samples if s.get("draft_reward") is not None and s.get("reward") is not None]
    if not revised:
        return {}
    gains = [s["reward"] - s["draft_reward"] for s in revised]
    return {"realign/revision_gain": sum(gains) / len(gains),
            "realign/revision_win_rate": sum(g > 0 for g in gains) / len(gains),
            "realign/revision_reward": sum(s["reward"] for s in revised) / len(revised)}


def _rounds(params: RealignParams) -> RoundPlan:
    # drafts -> the reviser's revisions (scored on the original request) -> reference -> pairs
    revise = RoleCall("reviser", "revise",
                      lambda inputs: (params.formats, strong_pairs(inputs), inputs.sampling, inputs.seed + 1))
    return RoundPlan(steps=(revise,), reads_dataset=any(f.startswith("S-") for f in params.formats))


def _prepare_reviser(cfg, out_dir, policy_dir) -> str:
    from alignrl.models.reviser import ensure_reviser  # stage A trains in-process, before any actor starts

    return str(ensure_reviser(cfg, out_dir, policy_dir))


register(AlgorithmSpec("realign", RealignParams, "pairwise", _realign,
                       summary="ReAlign: on-policy pairs plus reviser-enhanced revision-task pairs",
                       sources=("online",),  # it revises the policy's own drafts
                       uses_reference=lambda params: params.inner_loss == "dpo",
                       rounds=_rounds, roles=lambda params: (ExtraRole("reviser", _prepare_reviser),),
                       round_metrics=revision_metrics))
