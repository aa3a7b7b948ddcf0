"""`hf`: transformers `generate`, the CPU default."""

from __future__ import annotations

import torch

from alignrl.generation.base import register_backend
from alignrl.models.generate import Generation, generate
from alignrl.models.policy import DTYPES
from alignrl.models.tiny import load_model_dir
from alignrl.transport.buckets import state_digest


class HFBackend:
    def __init__(self, model_dir: str, dtype: str, seed: int):
        self.model, self.tokenizer = load_model_dir(model_dir, DTYPES[dtype])
        self.model.eval()
        self.seed = seed
        self.live = False

    @classmethod
    def on_live_model(cls, model, tokenizer, seed: int) -> "HFBackend":
        """Sample from a model another owner trains (a colocated learner rank): no copy, no weight loads."""
        backend = cls.__new__(cls)
        backend.model, backend.tokenizer, backend.seed, backend.live = model, tokenizer, seed, True
        return backend

    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float, top_p: float,
                 top_k: int, seed: int) -> list[Generation]:
        return generate(self.model, self.tokenizer, prompts, max_new_tokens, temperature, top_p, top_k, seed=seed)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if self.live:
            raise RuntimeError("a colocated generator samples from the learner's live weights; nothing loads into it")
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise KeyError(f"weight sync mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")

    def digest(self) -> str:
        return state_digest(self.model.state_dict())


register_backend("hf", HFBackend)
