"""VAR (docs/algorithms.md §10, [RECON]): reward-weighted SFT toward the closed-form RLHF optimum."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from alignrl.algorithms.batches import WeightedSFTBatch
from alignrl.algorithms.common import LossOutput
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, RoundShape, register


def var_weights(ref_cross: torch.Tensor, reward_cross: torch.Tensor, var_lambda: float,
                z_mode: str = "cross_pair") -> tuple[torch.Tensor, torch.Tensor]:
    """Detached weights w_i and log Zhat_i from B x B reference log-probs and rewards ([nb, B, B] for nb blocks).

    cross_pair: l_ij = ref(y_j|x_i) + r(x_i,y_j)/lambda, logZ_i = logsumexp_j l_ij, w_i = exp(l_ii - logZ_i).
    diagonal_shared: a softmax over the batch of the diagonal terms l_ii.
    """
    with torch.no_grad():
        logits = ref_cross.float() + reward_cross.float() / var_lambda
        diag = torch.diagonal(logits, dim1=-2, dim2=-1)
        if z_mode == "cross_pair":
            log_z = torch.logsumexp(logits, dim=-1)
        elif z_mode == "diagonal_shared":
            log_z = torch.logsumexp(diag, dim=-1, keepdim=True).expand_as(diag)
        else:
            raise ValueError(f"unknown var_z_mode {z_mode!r} for batch weights (cross_pair or diagonal_shared)")
        return torch.exp(diag - log_z), log_z


def ref_sample_weights(rewards: torch.Tensor, ref_sample_rewards: torch.Tensor, var_lambda: float) -> torch.Tensor:
    """The `ref_samples` ablation: w_i = exp(r_i/lambda) / mean_k exp(r_ik/lambda), no pi_ref factor."""
    with torch.no_grad():
        log_zhat = torch.logsumexp(ref_sample_rewards.float() / var_lambda, dim=1) - torch.log(
            torch.tensor(float(ref_sample_rewards.shape[1])))
        return torch.exp(rewards.float() / var_lambda - log_zhat)


def var_loss(policy_logp: torch.Tensor, weights: torch.Tensor, reduction: str = "mean",
             log_z: torch.Tensor | None = None, policy_tokens: torch.Tensor | None = None) -> LossOutput:
    """L = -(1/B) sum_i w_i * logp_theta(y_i|x_i) ("sum" drops the 1/B); [nb, B] inputs average the blocks."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"unknown VAR reduction {reduction!r}")
    weights = weights.detach()
    per_block = -(weights * policy_logp).sum(-1)
    if reduction == "mean":
        per_block = per_block / policy_logp.shape[-1]
    loss = per_block.mean()
    with torch.no_grad():
        metrics = {
            "var/w_mean": weights.mean().item(),
            "var/w_min": weights.min().item(),
            "var/w_max": weights.max().item(),
            "var/ess": (weights.sum() ** 2 / (weights ** 2).sum().clamp(min=1e-12)).item(),
            "var/diagonal_share": weights.mean().item(),
            "var/nll_unweighted": (-policy_logp).mean().item(),
            "var/nll_weighted": (-(weights * policy_logp)).mean().item(),
        }
        if log_z is not None:
            metrics["var/logZ_mean"] = log_z.mean().item()
        if policy_tokens is not None:
            metrics["var/token_nll"] = (-policy_logp.sum() / policy_tokens.sum().clamp(min=1)).item()
    return LossOutput(loss, metrics)


class VARParams(AlgorithmParams):
    name: Literal["var"] = "var"
    var_lambda: float = Field(1.0, gt=0, description="KL temperature of the optimum pi_ref*exp(r/lambda) [RECON]")
    var_z_mode: Literal["cross_pair", "diagonal_shared", "ref_samples"] = Field(
        "cross_pair", description="estimator of Z(x) [RECON]")
    ref_logp_reduction: Literal["sum", "mean"] = Field(
        "sum", description="log pi_ref(y_j|x_i) summed over y_j's tokens, or averaged (divided by len(y_j))")
    reduction: Literal["mean", "sum"] = Field("mean", description="loss reduction over the micro-batch")
    micro_batch: int = Field(8, ge=1, description="B, prompts per fixed micro-batch (paper: 8)")


def _var(batch: WeightedSFTBatch, params: VARParams) -> LossOutput:
    if params.var_z_mode == "ref_samples":
        raise ValueError("var_z_mode=ref_samples needs pre-sampled reference rewards; use ref_sample_weights")
    ref_cross = batch.ref_cross
    if params.ref_logp_reduction == "mean":
        if batch.policy_tokens is None:
            raise ValueError("ref_logp_reduction=mean needs the response lengths (policy_tokens)")
        ref_cross = ref_cross / batch.policy_tokens.clamp(min=1).unsqueeze(-2)  # column j is response y_j
    weights, log_z = var_weights(ref_cross, batch.reward_cross, params.var_lambda, params.var_z_mode)
    return var_loss(batch.policy_logp, weights, params.reduction, log_z, batch.policy_tokens)


def _runtime_check(params: VARParams, source: str) -> str | None:
    if params.var_z_mode == "ref_samples":
        return ("algorithm.var_z_mode: ref_samples needs rewards of pre-sampled reference responses, which the "
                "runtime does not produce (ref_sample_weights serves offline studies); use cross_pair or diagonal_shared")
    return None


register(AlgorithmSpec("var", VARParams, "weighted_sft", _var,
                       summary="VAR: reward-weighted SFT with an in-batch estimate of Z(x)",
                       shape=lambda params: RoundShape(per_prompt=1, block=params.micro_batch),
                       check=_runtime_check))
