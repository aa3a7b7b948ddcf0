"""Generation backends behind one interface: `hf` (transformers generate) and `vllm`."""

from __future__ import annotations


def make_backend(name: str, model_dir: str, dtype: str, seed: int):
    if name == "hf":
        from actors.backends.hf import HFBackend

        return HFBackend(model_dir, dtype, seed)
    if name == "vllm":
        from actors.backends.vllm import VLLMBackend  # imported lazily: vllm is an optional extra

        return VLLMBackend(model_dir, dtype, seed)
    raise ValueError(f"unknown generation backend {name!r}; use hf or vllm")
