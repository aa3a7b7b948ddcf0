"""WPO (Zhou et al. 2024, docs/algorithms.md §5): DPO with pairs weighted by on-policy likelihood."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.common import LossOutput, neg_logsigmoid, pairwise_diagnostics, source_losses
from alignrl.algorithms.dpo import require_reference
from alignrl.algorithms.logprobs import masked_sum
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, register


def wpo_adjusted_logit(logp_tok: torch.Tensor, log_sum_sq: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per response: mean over response tokens of (logp_tok - log sum_v p_v^2), no gradient."""
    with torch.no_grad():
        return masked_sum(logp_tok - log_sum_sq, mask, -1) / mask.sum(-1).clamp(min=1)


def wpo_loss(logp_w, logp_l, ref_w, ref_l, adj_w, adj_l, beta: float, sources=None) -> LossOutput:
    """omega = min(1, exp(adj_w + adj_l)), detached; L = mean(omega * -logsigmoid(z_DPO))."""
    omega = torch.exp(adj_w + adj_l).clamp(max=1.0).detach()
    z = beta * ((logp_w - ref_w) - (logp_l - ref_l))
    per_pair = omega * neg_logsigmoid(z)
    metrics = pairwise_diagnostics(logp_w, logp_l, ref_w, ref_l, beta, sources=sources)
    metrics.update({"wpo/weight_mean": omega.mean().item(), "wpo/weight_min": omega.min().item()})
    metrics.update(source_losses(per_pair, sources))
    return LossOutput(per_pair.mean(), metrics, per_pair)


class WPOParams(AlgorithmParams):
    name: Literal["wpo"] = "wpo"
    beta: float = Field(0.03, gt=0, description="DPO beta (ReAlign WPO-Off: 0.03)")
    samples_per_prompt: int = Field(2, ge=2, description="samples per prompt when it trains online (data.source: online)")


def _wpo(batch: PairBatch, params: WPOParams) -> LossOutput:
    ref_w, ref_l = require_reference(batch, "wpo")
    if "wpo_logit" not in batch.extras:
        raise ValueError("wpo needs the wpo_logit extras of the policy's own logits (wpo_extras)")
    adj_w, adj_l = batch.extras["wpo_logit"]
    return wpo_loss(batch.policy_chosen, batch.policy_rejected, ref_w, ref_l, adj_w, adj_l, params.beta, batch.sources)


def wpo_extras(forward) -> dict[str, torch.Tensor]:
    """The learner forward's extra: each sequence's adjusted mean log-prob, from the policy's own distribution."""
    return {"wpo_logit": wpo_adjusted_logit(forward.logp_tok, forward.log_sum_sq(), forward.mask)}


register(AlgorithmSpec("wpo", WPOParams, "pairwise", _wpo,
                       summary="WPO: off-policy DPO reweighted by the policy's likelihood of each pair",
                       forward_extras=wpo_extras))
