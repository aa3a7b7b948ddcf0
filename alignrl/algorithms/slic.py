"""SLiC-HF (Zhao et al. 2023, docs/algorithms.md §4): rank-calibration hinge plus an SFT regulariser."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.common import LossOutput, pairwise_diagnostics, source_losses
from alignrl.algorithms.dpo import require_reference
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, register


def slic_loss(logp_pos, logp_neg, logp_sft_target, delta: float, lam_reg: float, sources=None) -> LossOutput:
    """max(0, delta - logp(y+) + logp(y-)) - lam_reg * logp(y_ref), averaged over pairs."""
    calibration = torch.relu(delta - logp_pos + logp_neg)
    regulariser = -lam_reg * logp_sft_target
    per_pair = calibration + regulariser
    metrics = pairwise_diagnostics(logp_pos, logp_neg, None, None, 1.0,
                                   lambda_generic=(calibration > 0).float(), sources=sources)
    metrics.update({"slic/calibration": calibration.detach().mean().item(),
                    "slic/regulariser": regulariser.detach().mean().item()})
    metrics.update(source_losses(per_pair, sources))
    return LossOutput(per_pair.mean(), metrics, per_pair)


def slic_hinge_loss(logp_w, logp_l, ref_w, ref_l, beta: float, sources=None) -> LossOutput:
    """TRL's reference-normalised hinge: relu(1 - beta * h), no regulariser."""
    z = beta * ((logp_w - ref_w) - (logp_l - ref_l))
    per_pair = torch.relu(1.0 - z)
    metrics = pairwise_diagnostics(logp_w, logp_l, ref_w, ref_l, beta, sources=sources)
    metrics.update(source_losses(per_pair, sources))
    return LossOutput(per_pair.mean(), metrics, per_pair)


class SLiCParams(AlgorithmParams):
    name: Literal["slic"] = "slic"
    variant: Literal["calibration", "hinge"] = Field(
        "calibration", description="calibration: the paper's hinge + SFT regulariser; hinge: TRL's ref-normalised form"
    )
    delta: float = Field(1.0, ge=0, description="calibration margin (unverified default; sweep it)")
    lam_reg: float = Field(0.5, ge=0, description="weight of the SFT-target likelihood regulariser")
    beta: float = Field(0.1, gt=0, description="margin scale of the `hinge` variant")
    samples_per_prompt: int = Field(2, ge=2, description="samples per prompt when it trains online (data.source: online)")


def _slic(batch: PairBatch, params: SLiCParams) -> LossOutput:
    if params.variant == "hinge":
        ref_w, ref_l = require_reference(batch, "slic (hinge)")
        return slic_hinge_loss(batch.policy_chosen, batch.policy_rejected, ref_w, ref_l, params.beta, batch.sources)
    # No SFT target given: regularise on y+ (docs/algorithms.md §4, [OURS]).
    target = batch.policy_sft_target if batch.policy_sft_target is not None else batch.policy_chosen
    return slic_loss(batch.policy_chosen, batch.policy_rejected, target, params.delta, params.lam_reg, batch.sources)


register(AlgorithmSpec("slic", SLiCParams, "pairwise", _slic,
                       summary="SLiC-HF: rank calibration hinge with an SFT regulariser",
                       uses_reference=lambda params: params.variant == "hinge"))
