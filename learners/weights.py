"""The learner's full weights on CPU, gathered from ZeRO-3 shards when the engine holds shards."""

from __future__ import annotations

import torch


def full_state_dict(engine) -> dict[str, torch.Tensor]:
    """Every parameter in full on this rank, detached on CPU (every rank must call it under ZeRO-3)."""
    module = engine.module
    if getattr(engine, "zero_optimization_stage", lambda: 0)() == 3:
        import deepspeed

        params = list(module.parameters())
        with deepspeed.zero.GatheredParameters(params, modifier_rank=None):
            return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
