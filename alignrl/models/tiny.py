"""Tiny Llama-style causal LMs made offline, saved as HF directories (safetensors)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from alignrl.models.tokenizer import build_char_tokenizer


def build_tiny_llama(
    tokenizer: PreTrainedTokenizerBase,
    hidden_size: int = 128,
    num_layers: int = 4,
    num_heads: int = 4,
    intermediate_size: int = 384,
    max_position_embeddings: int = 1024,
    seed: int = 0,
) -> LlamaForCausalLM:
    """A fresh tiny Llama. head_dim = hidden/heads must be >= 32 (vLLM-CPU rejects 16)."""
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}")
    head_dim = hidden_size // num_heads
    if head_dim < 32:
        raise ValueError(f"head_dim = {head_dim} < 32: vLLM's CPU attention needs head_dim >= 32")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def save_model_dir(model, tokenizer, out_dir: str | Path) -> Path:
    """Write weights as safetensors plus tokenizer and chat template: loadable by HF and vLLM."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def load_model_dir(path: str | Path, dtype: torch.dtype = torch.float32, tokenizer_path: str | Path | None = None):
    """Load (model, tokenizer) from an HF directory; weights only from safetensors."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"model directory {path} does not exist")
    if not list(path.glob("*.safetensors")):
        raise FileNotFoundError(f"model directory {path} holds no *.safetensors weights (pickled weights are refused)")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path or path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, use_safetensors=True)
    if model.config.vocab_size < len(tokenizer):
        raise ValueError(
            f"tokenizer {tokenizer_path or path} has {len(tokenizer)} tokens but the model's vocab_size is "
            f"{model.config.vocab_size}: they do not belong together"
        )
    return model, tokenizer


def make_tiny_model_dir(out_dir: str | Path, seed: int = 0, **arch) -> Path:
    """Build the char tokenizer and a fresh tiny Llama, and save both to `out_dir`."""
    tokenizer = build_char_tokenizer()
    return save_model_dir(build_tiny_llama(tokenizer, seed=seed, **arch), tokenizer, out_dir)
