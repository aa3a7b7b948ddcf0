"""SimPO (Meng et al. 2024, docs/algorithms.md §2): reference-free, length-normalised, target margin."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.common import LossOutput, neg_logsigmoid, pairwise_diagnostics, source_losses
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, register


def simpo_loss(avg_w: torch.Tensor, avg_l: torch.Tensor, beta: float, gamma: float, sources=None) -> LossOutput:
    """z = beta * (logp_avg_w - logp_avg_l) - gamma; gamma is in reward units."""
    z = beta * (avg_w - avg_l) - gamma
    per_pair = neg_logsigmoid(z)
    metrics = pairwise_diagnostics(avg_w, avg_l, None, None, beta, lambda_generic=torch.sigmoid(-z), sources=sources)
    metrics.update(source_losses(per_pair, sources))
    return LossOutput(per_pair.mean(), metrics, per_pair)


class SimPOParams(AlgorithmParams):
    name: Literal["simpo"] = "simpo"
    beta: float = Field(10.0, gt=0, description="scale of the length-normalised reward (ReAlign Table 5: 10)")
    gamma: float = Field(3.0, ge=0, description="target reward margin, in reward units (ReAlign Table 5: 3)")
    samples_per_prompt: int = Field(2, ge=2, description="samples per prompt when it trains online (data.source: online)")


def length_normalised(batch: PairBatch, algorithm: str) -> tuple[torch.Tensor, torch.Tensor]:
    if batch.chosen_tokens is None or batch.rejected_tokens is None:
        raise ValueError(f"{algorithm} needs chosen_tokens and rejected_tokens for length normalisation")
    return (batch.policy_chosen / batch.chosen_tokens.clamp(min=1),
            batch.policy_rejected / batch.rejected_tokens.clamp(min=1))


def _simpo(batch: PairBatch, params: SimPOParams) -> LossOutput:
    avg_w, avg_l = length_normalised(batch, "simpo")
    return simpo_loss(avg_w, avg_l, params.beta, params.gamma, batch.sources)


register(AlgorithmSpec("simpo", SimPOParams, "pairwise", _simpo,
                       summary="SimPO: reference-free length-normalised preference loss",
                       uses_reference=lambda params: False))
