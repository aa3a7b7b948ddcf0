"""LoRA through peft: adapters on the policy, and the merged full weights everything else loads.

Only the adapters train and only they have optimizer state. Generators, the reference and
checkpoints' `policy/` dirs get plain HF weights with each adapter's update added, computed
without touching the live model (merging in place and back would drift the fp32 base weights).
"""

from __future__ import annotations

import torch

from alignrl.models.adapters import target_problem


class LoRATargetError(ValueError):
    """model.lora.target_modules names no module of the model."""


def apply_lora(model, lora) -> torch.nn.Module:
    """The model wrapped with fresh adapters per `model.lora` (base weights frozen)."""
    from peft import LoraConfig, get_peft_model

    problem = target_problem(model, lora.target_modules)
    if problem:
        raise LoRATargetError(problem)
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(lora.target_modules), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def is_lora(module) -> bool:
    return hasattr(module, "peft_config") and hasattr(module, "get_base_model")


def merged_state_dict(module) -> dict[str, torch.Tensor]:
    """HF-named full weights of a peft model with every active adapter's update added (detached, new tensors
    only where an adapter sits; the other entries share the live storage)."""
    from peft.tuners.lora import LoraLayer

    base = module.get_base_model()
    state = {key.replace(".base_layer.", "."): value.detach() for key, value in base.state_dict().items()
             if ".lora_" not in key}
    with torch.no_grad():
        for name, layer in base.named_modules():
            if isinstance(layer, LoraLayer) and hasattr(layer, "base_layer"):
                weight = layer.base_layer.weight.detach()
                delta = sum(layer.get_delta_weight(adapter) for adapter in layer.active_adapters)
                state[f"{name}.weight"] = weight + delta.to(weight.dtype)
    return state


def trainable_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
