"""Train/inference mismatch correction (docs/algorithms.md §8.1): importance weights from the generator's
behaviour log-probs to the learner's own, truncated or masked at a cap.

The generator samples with its own numerics (vLLM kernels, bf16, another process) and, in async mode, with
weights up to `max_staleness` versions old. The learner's policy before its update is the proximal policy
pi_prox; each token's weight is pi_prox / pi_behaviour, bounded by the cap, and multiplies the policy-gradient
term. Token modes weigh each token by its own ratio; sequence modes weigh every token of a completion by the
product of its ratios. Truncation clips a weight to the cap; masking zeroes the units above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from alignrl.algorithms.logprobs import masked_sum

MismatchMode = Literal["token_truncate", "token_mask", "sequence_truncate", "sequence_mask", "none"]
MODES: tuple[str, ...] = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask", "none")
_LOG_RATIO_LIMIT = 20.0  # exp(20) is far past any cap: a clamp that changes no weight, only avoids inf


@dataclass
class MismatchWeights:
    weights: torch.Tensor  # [N, T] (token modes) or [N, 1] (sequence modes), detached
    metrics: dict[str, float]


def behaviour_weights(proximal: torch.Tensor, behaviour: torch.Tensor, mask: torch.Tensor, mode: str,
                      cap: float) -> MismatchWeights:
    """Weights pi_prox / pi_behaviour per `mode`, bounded by `cap`, and the mismatch diagnostics."""
    if mode not in MODES or mode == "none":
        raise ValueError(f"unknown mismatch correction {mode!r}; use one of {', '.join(MODES[:-1])}")
    live = mask.bool()
    with torch.no_grad():
        # Off the mask (padding) and where a backend gave no usable log-prob, the weight is 1 (no correction).
        diff = (proximal.detach() - behaviour.detach()).float()
        diff = torch.where(live & diff.isfinite(), diff, torch.zeros((), device=diff.device))
        diff = diff.clamp(-_LOG_RATIO_LIMIT, _LOG_RATIO_LIMIT)
        if mode.startswith("sequence"):
            log_ratio = masked_sum(diff, mask.float(), 1).clamp(-_LOG_RATIO_LIMIT, _LOG_RATIO_LIMIT).unsqueeze(1)
            unit_live = live.any(dim=1, keepdim=True)
        else:
            log_ratio, unit_live = diff, live
        ratio = torch.exp(log_ratio)
        over = (ratio > cap) & unit_live
        weights = ratio.clamp(max=cap) if mode.endswith("truncate") else ratio.masked_fill(over, 0.0)
        token_ratio = torch.exp(diff)[live]
        n_tok = mask.float().sum().clamp(min=1)
        k3 = masked_sum(torch.exp(diff) - 1 - diff, mask.float()) / n_tok  # KL(behaviour || proximal) >= 0, per token
        quantiles = (torch.quantile(token_ratio, torch.tensor([0.1, 0.5, 0.9], device=diff.device)).tolist()
                     if token_ratio.numel() else [1.0, 1.0, 1.0])
        metrics = {
            "mismatch/kl": k3.item(),
            "mismatch/ratio_p10": quantiles[0],
            "mismatch/ratio_p50": quantiles[1],
            "mismatch/ratio_p90": quantiles[2],
            "mismatch/ratio_max": token_ratio.max().item() if token_ratio.numel() else 1.0,
            "mismatch/clipped_fraction": (over.float().sum() / unit_live.float().sum().clamp(min=1)).item(),
        }
    return MismatchWeights(weights, metrics)
