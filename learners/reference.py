"""The reference inside a learner rank (learner.reference: learner): each rank scores its own share.

Under LoRA the reference is the rank's own base model with the adapters disabled, so no second
copy of the weights exists; after a reference reset (iterative DPO) it is the base plus a frozen
snapshot of the adapters, swapped in for the scoring forward only. Without LoRA it is a frozen copy
held by the rank. Either way no extra process competes with the ranks for cores or memory, and the
scores are those the reference actor would compute (the same scoring functions, no autocast).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import torch

ADAPTERS_FILE = "reference_adapters.safetensors"  # a reset LoRA reference in a checkpoint's reference/ dir


def _frozen_copy(model_dir: str, dtype: torch.dtype):
    from alignrl.models.tiny import load_model_dir

    model, _ = load_model_dir(model_dir, dtype)
    return model.eval().requires_grad_(False)


class LearnerReference:
    def __init__(self, module, model_dir: str, dtype: torch.dtype, batch_size: int = 64):
        from alignrl.learners.lora import is_lora

        self.module = module  # the engine's live module
        self.lora = is_lora(module)
        self.batch_size = batch_size
        self.version = 0
        self.adapters: dict[str, torch.Tensor] | None = None  # LoRA after a reset; None: adapters disabled
        self.copy = None if self.lora else _frozen_copy(model_dir, dtype)

    def _adapter_parameters(self) -> dict[str, torch.nn.Parameter]:
        return {name: p for name, p in self.module.named_parameters() if ".lora_" in name}

    @contextlib.contextmanager
    def _scoring_model(self):
        if self.copy is not None:
            yield self.copy
            return
        training = self.module.training
        self.module.eval()  # no adapter or attention dropout in a reference score
        try:
            if self.adapters is None:
                with self.module.disable_adapter():
                    yield self.module
            else:
                with self._reference_adapters():
                    yield self.module
        finally:
            self.module.train(training)

    @contextlib.contextmanager
    def _reference_adapters(self):
        live = self._adapter_parameters()
        kept = {name: p.detach().clone() for name, p in live.items()}
        try:
            with torch.no_grad():
                for name, p in live.items():
                    p.copy_(self.adapters[name])
            yield
        finally:
            with torch.no_grad():
                for name, p in live.items():
                    p.copy_(kept[name])

    def score(self, kind, rows: list[dict], pad_id: int, options) -> float:
        """Fill the rows' reference fields through the data kind; returns the seconds it took."""
        started = time.perf_counter()
        with torch.no_grad(), self._scoring_model() as model:
            kind.score_reference(model, rows, pad_id, self.batch_size, options)
        return time.perf_counter() - started

    def reset(self, full_state: dict[str, torch.Tensor] | None, version: int) -> None:
        """ref = the current policy: its adapters (LoRA) or its full weights (`full_state`, HF names)."""
        if self.lora:
            self.adapters = {name: p.detach().clone() for name, p in self._adapter_parameters().items()}
        else:
            self.copy.load_state_dict(full_state)
        self.version = version

    def save(self, out_dir: Path, tokenizer) -> None:
        """A reset reference into a checkpoint's reference/ dir (an HF dir, or the adapter snapshot)."""
        from safetensors.torch import save_file

        out_dir.mkdir(parents=True, exist_ok=True)
        if self.lora:
            save_file({name: t.contiguous() for name, t in self.adapters.items()}, str(out_dir / ADAPTERS_FILE))
        else:
            self.copy.save_pretrained(out_dir, safe_serialization=True)
            tokenizer.save_pretrained(out_dir)

    def load(self, ref_dir: Path, version: int) -> None:
        """Restore a reset reference written by `save` (resume)."""
        from safetensors.torch import load_file

        if self.lora:
            self.adapters = load_file(str(ref_dir / ADAPTERS_FILE))
            missing = set(self._adapter_parameters()) - set(self.adapters)
            if missing:
                raise ValueError(f"{ref_dir / ADAPTERS_FILE} lacks adapters {sorted(missing)[:3]} of this model")
        else:
            self.copy = _frozen_copy(str(ref_dir), next(self.copy.parameters()).dtype)
        self.version = version
