"""Build or load the policy (model, tokenizer) that a run config names."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from alignrl.config.schema import ModelConfig
from alignrl.models.tiny import build_tiny_llama, load_model_dir
from alignrl.models.tokenizer import build_char_tokenizer

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def policy_from_config(cfg: ModelConfig):
    """`path: null` builds the tiny char-level Llama offline; a local dir or a hub id is loaded."""
    dtype = DTYPES[cfg.dtype]
    if cfg.path is None:
        tokenizer = build_char_tokenizer()
        model = build_tiny_llama(tokenizer, **cfg.tiny.model_dump()).to(dtype)
        return model, tokenizer
    if Path(cfg.path).exists() or not _HUB_ID.match(cfg.path):
        return load_model_dir(cfg.path, dtype, cfg.tokenizer)
    # A hub id (users' real runs); weights still come only from safetensors.
    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer or cfg.path)
        model = AutoModelForCausalLM.from_pretrained(cfg.path, dtype=dtype, use_safetensors=True)
    except OSError as err:
        raise FileNotFoundError(f"model.path {cfg.path!r} is not a local directory and could not be loaded "
                                f"from the hub: {err}") from None
    return model, tokenizer
