"""Loss outputs and the standard pairwise diagnostics of docs/algorithms.md §0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

LAMBDA_BINS = 10


@dataclass
class LossOutput:
    """A scalar loss to backpropagate, and float diagnostics for logging."""

    loss: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)
    per_example: torch.Tensor | None = None


def neg_logsigmoid(z: torch.Tensor) -> torch.Tensor:
    """-log(sigmoid(z)) computed as softplus(-z): stable for large |z|."""
    return F.softplus(-z)


def _quantiles(values: torch.Tensor, prefix: str) -> dict[str, float]:
    v = values.detach().float()
    qs = torch.quantile(v, torch.tensor([0.1, 0.5, 0.9], dtype=v.dtype))
    out = {
        f"{prefix}/mean": v.mean().item(),
        f"{prefix}/median": qs[1].item(),
        f"{prefix}/p10": qs[0].item(),
        f"{prefix}/p90": qs[2].item(),
    }
    hist = torch.histc(v.clamp(0, 1), bins=LAMBDA_BINS, min=0.0, max=1.0)
    for i, count in enumerate(hist.tolist()):
        out[f"{prefix}/hist_{i:02d}"] = count
    return out


def pairwise_diagnostics(
    logp_w: torch.Tensor,
    logp_l: torch.Tensor,
    ref_w: torch.Tensor | None,
    ref_l: torch.Tensor | None,
    beta: float,
    lambda_generic: torch.Tensor | None = None,
    sources: Sequence[str] | None = None,
) -> dict[str, float]:
    """logps, implicit rewards, margins, accuracy and the lambda distribution, overall and per source.

    Without reference log-probs (SimPO, SLiC) the reference terms are zero and lambda is
    `lambda_generic = sigmoid(-z)` of the method's own logit.
    """
    logp_w, logp_l = logp_w.detach().float(), logp_l.detach().float()
    ref_w = torch.zeros_like(logp_w) if ref_w is None else ref_w.detach().float()
    ref_l = torch.zeros_like(logp_l) if ref_l is None else ref_l.detach().float()
    groups: dict[str, torch.Tensor] = {"": torch.ones_like(logp_w, dtype=torch.bool)}
    if sources is not None:
        if len(sources) != logp_w.shape[0]:
            raise ValueError(f"{len(sources)} sources for {logp_w.shape[0]} pairs")
        for name in sorted(set(sources)):
            groups[f"{name}/"] = torch.tensor([s == name for s in sources])
    metrics: dict[str, float] = {}
    for prefix, sel in groups.items():
        if not sel.any():
            continue
        w, l, rw, rl = logp_w[sel], logp_l[sel], ref_w[sel], ref_l[sel]
        chosen, rejected = beta * (w - rw), beta * (l - rl)
        if lambda_generic is None:
            lam = torch.sigmoid(beta * ((rw - rl) - (w - l)))
        else:
            lam = lambda_generic.detach().float()[sel]
        metrics.update({
            f"{prefix}logps/chosen": w.mean().item(),
            f"{prefix}logps/rejected": l.mean().item(),
            f"{prefix}rewards/chosen": chosen.mean().item(),
            f"{prefix}rewards/rejected": rejected.mean().item(),
            f"{prefix}rewards/margins": (chosen - rejected).mean().item(),
            f"{prefix}rewards/accuracy": (chosen > rejected).float().mean().item(),
            f"{prefix}D_pi": (w - l).mean().item(),
            f"{prefix}D_ref": (rw - rl).mean().item(),
            f"{prefix}pairs": float(sel.sum().item()),
        })
        metrics.update(_quantiles(lam, f"{prefix}lambda"))
    return metrics


def source_losses(per_example: torch.Tensor, sources: Sequence[str] | None) -> dict[str, float]:
    """Mean loss per data source (on / off / revision / strong)."""
    if sources is None:
        return {}
    out = {}
    for name in sorted(set(sources)):
        sel = torch.tensor([s == name for s in sources])
        out[f"{name}/loss"] = per_example.detach()[sel].mean().item()
    return out
