"""The learner's full weights on CPU (gathered from ZeRO-3 shards, LoRA adapters merged), and saving them."""

from __future__ import annotations

from pathlib import Path

import torch


def plain_state_dict(module) -> dict[str, torch.Tensor]:
    """HF-named weights: a LoRA policy's with its adapters merged in."""
    from alignrl.learners.lora import is_lora, merged_state_dict

    return merged_state_dict(module) if is_lora(module) else module.state_dict()


def full_state_dict(engine) -> dict[str, torch.Tensor]:
    """Every parameter in full on this rank, detached on CPU (every rank must call it under ZeRO-3)."""
    module = engine.module
    if getattr(engine, "zero_optimization_stage", lambda: 0)() == 3:
        import deepspeed

        params = list(module.parameters())
        with deepspeed.zero.GatheredParameters(params, modifier_rank=None):
            return {k: v.detach().cpu().clone() for k, v in plain_state_dict(module).items()}
    # No copy on CPU: every consumer (bucket packing, save, digest) reads the tensors before the next
    # optimizer step can run on this actor, and packing copies into its own buffers.
    return {k: v.detach().cpu() for k, v in plain_state_dict(module).items()}


def save_policy(module, state: dict[str, torch.Tensor], out: Path, tokenizer) -> None:
    """`out/policy`: a complete HF model dir (safetensors) of `state`; a LoRA policy's adapter also goes to
    `out/adapter`, as peft loads it."""
    from alignrl.learners.lora import is_lora

    if is_lora(module):
        module.save_pretrained(out / "adapter", safe_serialization=True)
        module = module.get_base_model()
    module.save_pretrained(out / "policy", state_dict=state, safe_serialization=True)
    tokenizer.save_pretrained(out / "policy")
