"""PolicyEngine: one learner rank's DeepSpeed engine and its train step, with no Ray in it.

LearnerWorker serves it over Ray; `alignrl bench` runs the same class bare (its floor), so the
two differ only by the runtime around them.
"""

from __future__ import annotations

import time

import torch


def deepspeed_config(micro_batch: int, grad_accum: int, world_size: int, zero_stage: int, grad_clip: float,
                     bf16: bool) -> dict:
    return {
        "train_micro_batch_size_per_gpu": micro_batch,
        "gradient_accumulation_steps": grad_accum,
        "train_batch_size": micro_batch * grad_accum * world_size,
        "gradient_clipping": grad_clip,
        "zero_optimization": {"stage": zero_stage},
        "bf16": {"enabled": bf16},
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }


class PolicyEngine:
    """The policy, its optimizer and LR schedule under DeepSpeed; torch.distributed must be initialized."""

    def __init__(self, cfg, model_dir: str, rank: int, world_size: int, total_steps: int):
        import deepspeed

        from alignrl.algorithms import get_algorithm
        from alignrl.kinds import get_kind
        from alignrl.models.policy import DTYPES
        from alignrl.models.tiny import load_model_dir
        from alignrl.schedule import lr_multiplier

        self.cfg, self.rank = cfg, rank
        self.spec = get_algorithm(cfg.algorithm.name)
        self.kind = get_kind(self.spec.kind)
        self.algorithm = cfg.algorithm  # the loss's parameters, with the response cap filled in where it is implied
        if self.spec.length_field and getattr(self.algorithm, self.spec.length_field) is None:
            self.algorithm = self.algorithm.model_copy(update={self.spec.length_field: cfg.generation.max_new_tokens})
        torch.manual_seed(cfg.runtime.seed)
        model, tokenizer = load_model_dir(model_dir, DTYPES[cfg.model.dtype])
        self.tokenizer, self.pad_id = tokenizer, tokenizer.pad_token_id
        rt = cfg.runtime
        self.grad_accum = rt.train_batch_size // (rt.micro_batch_size * world_size)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_multiplier(s, total_steps, cfg.optim.warmup_ratio, cfg.optim.schedule))
        ds_cfg = deepspeed_config(rt.micro_batch_size, self.grad_accum, world_size, rt.zero_stage,
                                  cfg.optim.grad_clip, cfg.model.dtype == "bfloat16")
        self.engine, _, _, self.scheduler = deepspeed.initialize(model=model, optimizer=optimizer,
                                                                 lr_scheduler=scheduler, config=ds_cfg)
        self.params = sum(p.numel() for p in model.parameters())
        self.version = 0

    def train_step(self, rows: list[dict]) -> dict:
        """One optimizer step over this rank's share: grad_accum micro-batches of micro_batch_size rows."""
        micro = self.cfg.runtime.micro_batch_size
        if len(rows) != micro * self.grad_accum:
            raise ValueError(f"rank {self.rank} got {len(rows)} examples, expected {micro * self.grad_accum}")
        started = time.perf_counter()
        self.engine.train()
        sums: dict[str, float] = {}
        for start in range(0, len(rows), micro):
            batch = self.kind.forward(self.engine.module, rows[start: start + micro], self.pad_id,
                                      self.spec.forward_extras)
            out = self.spec.loss(batch, self.algorithm)
            if not torch.isfinite(out.loss):
                raise FloatingPointError(f"rank {self.rank}: loss is {out.loss.item()} at version {self.version}")
            self.engine.backward(out.loss)
            self.engine.step()
            for key, value in {"loss": out.loss.item(), **out.metrics}.items():
                sums[key] = sums.get(key, 0.0) + value
        self.version += 1
        metrics = {k: v / self.grad_accum for k, v in sums.items()}
        metrics["learner/step_seconds"] = time.perf_counter() - started
        metrics["learner/lr"] = self.scheduler.get_last_lr()[0] if self.scheduler else self.cfg.optim.lr
        return metrics
