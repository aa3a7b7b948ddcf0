"""The generation-backend seam: what a generator (or reviser) samples with.

A backend is built from a local HF model dir and serves batched sampling of exact token ids with
behaviour log-probs, plus in-place weight reloads. `generation.backend` names one; `hf` and
`vllm` are built in, and plug-ins register more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from alignrl.models.generate import Generation
from alignrl.registry import Registry


class GenerationBackend(Protocol):
    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float, top_p: float,
                 top_k: int, seed: int) -> list[Generation]:
        """One response per prompt (token ids in, token ids, text and behaviour log-probs out)."""

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Replace every weight in place (the next generate uses them)."""

    def digest(self) -> str:
        """A content hash of the weights (equal to the learner's after a sync), where the backend can tell."""


# factory(model_dir, dtype, seed) -> GenerationBackend
BackendFactory = Callable[[str, str, int], GenerationBackend]
BACKENDS: Registry[BackendFactory] = Registry("generation backend",
                                              "register one with alignrl.generation.register_backend")


def register_backend(name: str, factory: BackendFactory) -> BackendFactory:
    return BACKENDS.register(name, factory)


def make_backend(name: str, model_dir: str, dtype: str, seed: int) -> GenerationBackend:
    return BACKENDS.get(name)(model_dir, dtype, seed)
