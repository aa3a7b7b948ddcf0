"""DPO (Rafailov et al. 2023), offline and iterative on-policy (docs/algorithms.md §1)."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.common import LossOutput, neg_logsigmoid, pairwise_diagnostics, source_losses
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, RoundPlan, StepHook, register
from alignrl.typed import StrictModel


def dpo_loss(
    logp_w: torch.Tensor,
    logp_l: torch.Tensor,
    ref_w: torch.Tensor,
    ref_l: torch.Tensor,
    beta: float,
    sources: list[str] | None = None,
) -> LossOutput:
    """L = mean(-logsigmoid(beta * ((logp_w - ref_w) - (logp_l - ref_l))))."""
    z = beta * ((logp_w - ref_w) - (logp_l - ref_l))
    per_pair = neg_logsigmoid(z)
    metrics = pairwise_diagnostics(logp_w, logp_l, ref_w, ref_l, beta, sources=sources)
    metrics.update(source_losses(per_pair, sources))
    return LossOutput(per_pair.mean(), metrics, per_pair)


def require_reference(batch: PairBatch, algorithm: str) -> tuple[torch.Tensor, torch.Tensor]:
    if batch.ref_chosen is None or batch.ref_rejected is None:
        raise ValueError(f"{algorithm} needs reference log-probs for chosen and rejected responses")
    return batch.ref_chosen, batch.ref_rejected


class DPOParams(AlgorithmParams):
    name: Literal["dpo"] = "dpo"
    beta: float = Field(0.1, gt=0, description="KL strength: scale of the log-ratio margin (canonical 0.1)")
    samples_per_prompt: int = Field(5, ge=2, description="DPO-On samples per prompt (ReAlign: n = 5)")


class BoundaryParams(StrictModel):
    """Automatic off-to-on switching (docs/algorithms.md §9, §12)."""

    enabled: bool = Field(False, description="probe BS_on each iteration and pick the off- or on-policy source")
    probe_prompts: int = Field(64, ge=1, description="held-out probe prompts per iteration (paper: 2,000)")
    hysteresis: bool = Field(False, description="switch to on only when the whole Wilson 95% interval clears 0.5")
    latch: bool = Field(True, description="once on-policy is chosen, never switch back")


class IterativeDPOParams(DPOParams):
    name: Literal["iterative_dpo"] = "iterative_dpo"  # type: ignore[assignment]
    samples_per_prompt: int = Field(2, ge=2, description="samples per prompt per iteration (the boundary paper: 2)")
    steps_per_iteration: int = Field(10, ge=1, description="learner steps before the reference is reset to the policy")
    reset_reference: bool = Field(True, description="ref = policy at the start of each iteration")
    boundary: BoundaryParams = Field(default_factory=BoundaryParams, description="the on/off boundary switch")


def pairwise_dpo(batch: PairBatch, params: DPOParams) -> LossOutput:
    ref_w, ref_l = require_reference(batch, params.name)
    return dpo_loss(batch.policy_chosen, batch.policy_rejected, ref_w, ref_l, params.beta, batch.sources)


def _iteration_hooks(params: IterativeDPOParams) -> tuple[StepHook, ...]:
    """Each iteration: ref = the current policy, then (optionally) the probe picks the next iteration's data."""
    hooks = []
    if params.reset_reference:
        hooks.append(StepHook("reset_reference", params.steps_per_iteration))
    if params.boundary.enabled:
        hooks.append(StepHook("boundary_probe", params.steps_per_iteration, at_start=True, at_end=False,
                              options=params.boundary))
    return tuple(hooks)


register(AlgorithmSpec("dpo", DPOParams, "pairwise", pairwise_dpo,
                       summary="DPO on a preference dataset or a one-off on-policy pass"))
register(AlgorithmSpec("iterative_dpo", IterativeDPOParams, "pairwise", pairwise_dpo,
                       summary="online iterative DPO with reference reset and the on/off boundary switch",
                       sources=("online", "offline"), hooks=_iteration_hooks,
                       # the probe may switch rounds to the dataset, so the run loads it
                       rounds=lambda params: RoundPlan(reads_dataset=params.boundary.enabled)))
