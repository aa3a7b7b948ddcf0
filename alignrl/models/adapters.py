"""Where LoRA adapters can go on a model: shared by the policy learner and the reward-model trainer."""

from __future__ import annotations

import torch


def target_problem(model, targets: list[str], field: str = "model.lora.target_modules") -> str | None:
    """Why `targets` cannot take adapters on this model, or None."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    if any(t in names for t in targets):
        return None
    linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
    return f"{field} {list(targets)} match no module of the model; its linear layers are named {linear}"
