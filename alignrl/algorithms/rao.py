"""RAO (docs/algorithms.md §11): point-wise MSE between the reward and the implicit reward."""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, model_validator

from alignrl.algorithms.batches import PointBatch
from alignrl.algorithms.common import LossOutput
from alignrl.algorithms.logprobs import masked_sum
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, register


def prompt_logratio(policy_tok: torch.Tensor, ref_tok: torch.Tensor, prompt_mask: torch.Tensor) -> torch.Tensor:
    """p_i = sum over prompt tokens after t0 of (logp_theta - logp_ref), detached.

    Inputs are next-token log-probs [N, T-1]; position t scores token t+1, so position 0 is the
    first token after t0 and t0 itself is never scored. `prompt_mask` is 1 on prompt tokens.
    """
    with torch.no_grad():
        return masked_sum(policy_tok - ref_tok, prompt_mask[:, 1:], -1)


def check_shared_first_token(input_ids: torch.Tensor) -> int:
    """RAO ties every Z(x) to Z(t0): every tokenized prompt must start with the same token."""
    first = input_ids[:, 0]
    if not bool((first == first[0]).all()):
        raise ValueError(f"RAO needs every prompt to start with the same token t0; found {sorted(set(first.tolist()))}")
    return int(first[0])


def rao_loss(
    policy_logp: torch.Tensor,
    ref_logp: torch.Tensor,
    rewards: torch.Tensor,
    prompt_index: torch.Tensor,
    prompt_logratio_: torch.Tensor,
    beta: float,
    log_z0: float,
) -> LossOutput:
    """L_i = mean_j (r_ij - rhat_ij)^2 per prompt, rhat = beta*(logp - ref) + beta*stopgrad(log_z0 + p_i)."""
    log_z = (log_z0 + prompt_logratio_).detach()
    implicit = beta * (policy_logp - ref_logp)
    rhat = implicit + beta * log_z[prompt_index]
    sq = (rewards.float() - rhat) ** 2
    n_prompts = prompt_logratio_.shape[0]
    per_prompt_sum = torch.zeros(n_prompts, dtype=sq.dtype).index_add(0, prompt_index, sq)
    counts = torch.zeros(n_prompts, dtype=sq.dtype).index_add(0, prompt_index, torch.ones_like(sq))
    if bool((counts == 0).any()):
        raise ValueError("RAO batch has a prompt with no responses")
    loss = (per_prompt_sum / counts).mean()
    with torch.no_grad():
        resid = rewards.float() - rhat
        metrics = {
            "rao/implicit_reward_mean": implicit.mean().item(),
            "rao/residual_mean": resid.mean().item(),
            "rao/rmse": resid.pow(2).mean().sqrt().item(),
            "rao/logZ_mean": log_z.mean().item(),
            "rao/prompt_logratio_mean": prompt_logratio_.mean().item(),
            "rao/policy_logp_mean": policy_logp.mean().item(),
        }
    return LossOutput(loss, metrics)


class RAOParams(AlgorithmParams):
    name: Literal["rao"] = "rao"
    beta: float = Field(0.1, gt=0, description="scale of the implicit reward (App. F: 0.1)")
    z0: float = Field(50.0, description="Z_0, the shared first-token normaliser (App. F: 50)")
    z0_space: Literal["log", "linear"] = Field("log", description="[RECON] log: log_z0 = Z_0; linear: log_z0 = ln Z_0")
    prompt_term: Literal["teacher_forced", "none"] = Field(
        "teacher_forced", description="[OURS] log Z(x) = log_z0 + p_i (the paper), or log_z0 for every prompt (no drift)")
    samples_per_prompt: int = Field(2, ge=2, description="samples per prompt when it trains online (data.source: online)")

    @model_validator(mode="after")
    def _positive_linear_z0(self):
        if self.z0_space == "linear" and self.z0 <= 0:
            raise ValueError(f"z0_space=linear needs z0 > 0, got {self.z0}")
        return self

    @property
    def log_z0(self) -> float:
        return self.z0 if self.z0_space == "log" else math.log(self.z0)


def _rao(batch: PointBatch, params: RAOParams) -> LossOutput:
    p = batch.prompt_logratio if params.prompt_term == "teacher_forced" else torch.zeros_like(batch.prompt_logratio)
    out = rao_loss(batch.policy_logp, batch.ref_logp, batch.rewards, batch.prompt_index, p, params.beta,
                   params.log_z0)
    out.metrics["rao/prompt_logratio_mean"] = batch.prompt_logratio.mean().item()  # drift, even when unused
    return out


register(AlgorithmSpec("rao", RAOParams, "pointwise", _rao,
                       summary="RAO: point-wise distillation of the reward into beta*log(pi/pi_ref)"))
