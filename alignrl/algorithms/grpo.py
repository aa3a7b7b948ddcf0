"""GRPO and Dr. GRPO (docs/algorithms.md §8): group-standardised advantages, clipped ratio, k3 KL."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from alignrl.algorithms.batches import GroupBatch
from alignrl.algorithms.common import LossOutput
from alignrl.algorithms.logprobs import masked_sum
from alignrl.algorithms.mismatch import MismatchMode, behaviour_weights
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, RoundShape, register


def group_advantages(rewards: torch.Tensor, group_size: int, scale: bool = True, eps: float = 1e-6) -> torch.Tensor:
    """A_i = R_i - mean_G R, divided by (unbiased std_G R + eps) when `scale` (GRPO) and not for Dr. GRPO."""
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    grouped = rewards.float().view(-1, group_size)
    adv = grouped - grouped.mean(dim=1, keepdim=True)
    if scale:
        adv = adv / (grouped.std(dim=1, keepdim=True) + eps)
    return adv.view(-1)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """exp(ref - logp) - (ref - logp) - 1 >= 0, with the log-ratio clamped to [-20, 20]."""
    diff = (ref_logp - logp).clamp(-20.0, 20.0)
    return torch.exp(diff) - diff - 1.0


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    clip_eps: float = 0.2,
    beta: float = 0.04,
    aggregation: str = "grpo",
    max_completion_length: int | None = None,
    is_weights: torch.Tensor | None = None,
) -> LossOutput:
    """Per-token clipped surrogate minus beta * k3 KL, aggregated as grpo, bnpo or dr_grpo. `is_weights`
    (detached, [N, T] or [N, 1]) multiply the surrogate only, not the KL term."""
    live = mask.bool()
    mask = mask.float()
    # Off the mask, the behaviour and reference log-probs are the policy's own (ratio 1, KL 0), so
    # whatever padding holds (NaN, inf) never enters a value or a gradient.
    logp = torch.where(live, logp, torch.zeros((), dtype=logp.dtype, device=logp.device))
    old_logp = torch.where(live, old_logp, logp.detach())
    if ref_logp is not None:
        ref_logp = torch.where(live, ref_logp, logp.detach())
    adv = advantages.float().unsqueeze(1)
    ratio = torch.exp(logp - old_logp)
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps)
    surrogate = torch.minimum(ratio * adv, clipped * adv)
    if is_weights is not None:
        surrogate = surrogate * is_weights
    kl = k3_kl(logp, ref_logp) if ref_logp is not None and beta != 0 else torch.zeros_like(logp)
    per_token = -(surrogate - beta * kl)
    lengths = mask.sum(1)
    if aggregation == "grpo":
        loss = (masked_sum(per_token, mask, 1) / lengths.clamp(min=1)).mean()
    elif aggregation == "bnpo":
        loss = masked_sum(per_token, mask) / lengths.sum().clamp(min=1)
    elif aggregation == "dr_grpo":
        if not max_completion_length:
            raise ValueError("dr_grpo aggregation needs max_completion_length")
        loss = masked_sum(per_token, mask) / (logp.shape[0] * max_completion_length)
    else:
        raise ValueError(f"unknown aggregation {aggregation!r}; use grpo, bnpo or dr_grpo")

    with torch.no_grad():
        active = ((adv > 0) & (ratio > 1 + clip_eps)) | ((adv < 0) & (ratio < 1 - clip_eps))
        n_tok = mask.sum().clamp(min=1)
        seq_kl = masked_sum(kl, mask, 1) / lengths.clamp(min=1)
        metrics = {
            "clip_fraction": (masked_sum(active.float(), mask) / n_tok).item(),
            "ratio/mean": (masked_sum(ratio, mask) / n_tok).item(),
            "ratio/max": ratio.masked_fill(mask == 0, float("-inf")).max().item(),
            "kl/k3": seq_kl.mean().item(),
            "advantage/mean": advantages.float().mean().item(),
            "advantage/std": advantages.float().std().item() if advantages.numel() > 1 else 0.0,
            "completion_length/mean": lengths.mean().item(),
            "completion_length/max": lengths.max().item(),
            "logp_mismatch": (masked_sum((logp - old_logp).abs(), mask) / n_tok).item(),
        }
        if ref_logp is not None:
            metrics["kl/k1_sampler"] = (masked_sum(old_logp - ref_logp, mask) / n_tok).item()
    return LossOutput(loss, metrics)


def reward_metrics(rewards: torch.Tensor, group_size: int) -> dict[str, float]:
    grouped = rewards.float().view(-1, group_size)
    stds = grouped.std(dim=1)
    return {
        "reward/mean": grouped.mean().item(),
        "reward/group_std": stds.mean().item(),
        "reward/zero_std_groups": (stds == 0).float().mean().item(),
    }


class GRPOParams(AlgorithmParams):
    name: Literal["grpo"] = "grpo"
    group_size: int = Field(8, ge=2, description="completions per prompt, G (DeepSeekMath: 64; chat RLHF: 8)")
    beta: float = Field(0.04, ge=0, description="k3 KL weight to the reference (0 drops the reference)")
    clip_eps: float = Field(0.2, gt=0, description="PPO clip range eps_c")
    adv_eps: float = Field(1e-6, gt=0, description="eps added to the group std")
    scale_rewards: bool = Field(True, description="divide advantages by the group std")
    aggregation: Literal["grpo", "bnpo", "dr_grpo"] = Field("grpo", description="token-loss aggregation")
    max_completion_length: int | None = Field(
        None, ge=1, description="L_max of dr_grpo aggregation; null is generation.max_new_tokens (another value is an error)")
    mismatch_correction: MismatchMode = Field(
        "token_truncate", description="importance weights from the generator's behaviour log-probs to the learner's "
        "(token_truncate | token_mask | sequence_truncate | sequence_mask); none: the ratio is taken against the "
        "behaviour log-probs instead")
    mismatch_cap: float = Field(3.0, gt=0, description="cap C of the mismatch weights (TRL's default)")


class DrGRPOParams(GRPOParams):
    name: Literal["dr_grpo"] = "dr_grpo"  # type: ignore[assignment]
    beta: float = Field(0.0, ge=0, description="k3 KL weight (the Dr. GRPO paper: 0)")
    scale_rewards: bool = Field(False, description="Dr. GRPO drops the std normalisation")
    aggregation: Literal["grpo", "bnpo", "dr_grpo"] = Field("dr_grpo", description="token-loss aggregation")


def _grpo(batch: GroupBatch, params: GRPOParams) -> LossOutput:
    if params.beta > 0 and batch.ref_logp is None:
        raise ValueError(f"{params.name} with beta > 0 needs reference log-probs")
    adv = group_advantages(batch.rewards, batch.group_size, params.scale_rewards, params.adv_eps)
    if params.mismatch_correction == "none":
        old_logp, correction = batch.old_logp, None
    else:
        # One update per batch: the learner's policy before it is the proximal policy, so the clipped ratio
        # is taken against it and the behaviour-to-proximal gap (numerics, staleness) is the weight's job.
        old_logp = batch.logp.detach()
        correction = behaviour_weights(old_logp, batch.old_logp, batch.mask, params.mismatch_correction,
                                       params.mismatch_cap)
    out = grpo_loss(batch.logp, old_logp, batch.ref_logp, batch.mask, adv, params.clip_eps, params.beta,
                    params.aggregation, params.max_completion_length,
                    correction.weights if correction is not None else None)
    if correction is not None:
        out.metrics.update(correction.metrics)
    out.metrics.update(reward_metrics(batch.rewards, batch.group_size))
    return out


def _units(params: GRPOParams) -> str:
    # grpo: a mean over sequences; bnpo: over tokens; dr_grpo: a sum over N * L_max, so per sequence
    return "tokens" if params.aggregation == "bnpo" else "sequences"


def _group_spec(name: str, params: type[GRPOParams], summary: str) -> AlgorithmSpec:
    # Groups are sampled from the current policy: there is no dataset form of a group.
    return AlgorithmSpec(name, params, "group", _grpo, summary=summary, sources=("online",),
                         uses_reference=lambda p: p.beta > 0,
                         shape=lambda p: RoundShape(per_prompt=p.group_size),
                         length_field="max_completion_length", loss_units=_units)


register(_group_spec("grpo", GRPOParams, "GRPO: group-relative advantages with a clipped ratio and k3 KL"))
register(_group_spec("dr_grpo", DrGRPOParams, "Dr. GRPO: unscaled advantages, constant-length aggregation, no KL"))
