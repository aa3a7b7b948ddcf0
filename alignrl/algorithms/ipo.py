"""IPO (Azar et al. 2024, docs/algorithms.md §3): squared regression of the margin to 1/(2 tau)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.common import LossOutput, pairwise_diagnostics, source_losses
from alignrl.algorithms.dpo import require_reference
from alignrl.algorithms.registry import AlgorithmParams, AlgorithmSpec, register


def ipo_loss(logp_w, logp_l, ref_w, ref_l, tau: float, sources=None) -> LossOutput:
    h = (logp_w - ref_w) - (logp_l - ref_l)
    per_pair = (h - 1.0 / (2.0 * tau)) ** 2
    # beta = 1 here: IPO has no beta, so the logged implicit rewards are the raw log-ratios.
    metrics = pairwise_diagnostics(logp_w, logp_l, ref_w, ref_l, beta=1.0, sources=sources)
    metrics.update(source_losses(per_pair, sources))
    return LossOutput(per_pair.mean(), metrics, per_pair)


class IPOParams(AlgorithmParams):
    name: Literal["ipo"] = "ipo"
    tau: float = Field(0.1, gt=0, description="regularisation: the margin target is 1/(2 tau)")
    ipo_length_normalize: bool = Field(False, description="divide log-probs by response length (TRL's IPO)")
    samples_per_prompt: int = Field(2, ge=2, description="samples per prompt when it trains online (data.source: online)")


def _ipo(batch: PairBatch, params: IPOParams) -> LossOutput:
    ref_w, ref_l = require_reference(batch, "ipo")
    w, l = batch.policy_chosen, batch.policy_rejected
    if params.ipo_length_normalize:
        if batch.chosen_tokens is None or batch.rejected_tokens is None:
            raise ValueError("ipo_length_normalize needs chosen_tokens and rejected_tokens")
        nw, nl = batch.chosen_tokens.clamp(min=1), batch.rejected_tokens.clamp(min=1)
        w, l, ref_w, ref_l = w / nw, l / nl, ref_w / nw, ref_l / nl
    return ipo_loss(w, l, ref_w, ref_l, params.tau, batch.sources)


register(AlgorithmSpec("ipo", IPOParams, "pairwise", _ipo, summary="IPO: squared loss on the log-ratio margin"))
