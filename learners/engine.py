"""PolicyEngine: one learner rank's DeepSpeed engine and its train step, with no Ray in it.

LearnerWorker serves it over Ray; `alignrl bench` runs the same class bare (its floor), so the
two differ only by the runtime around them.
"""

from __future__ import annotations

import contextlib
import resource
import time

import torch
import torch.distributed as dist


def deepspeed_config(rank_share: int, world_size: int, zero_stage: int, grad_clip: float, bf16: bool) -> dict:
    # The train step owns accumulation: micro-batches vary in number and size (token budgets), each
    # backward is pre-weighted, and step() is the one boundary where gradients reduce.
    return {
        "train_micro_batch_size_per_gpu": rank_share,
        "gradient_accumulation_steps": 1,
        "train_batch_size": rank_share * world_size,
        "managed_gradient_accumulation": False,
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
        from alignrl.learners.safe_checkpoint import load_without_pickle
        from alignrl.learning.forward import ForwardOptions
        from alignrl.models.policy import DTYPES
        from alignrl.models.tiny import load_model_dir
        from alignrl.schedule import lr_multiplier

        self.cfg, self.rank, self.world_size = cfg, rank, world_size
        self.spec = get_algorithm(cfg.algorithm.name)
        self.kind = get_kind(self.spec.kind)
        self.algorithm = cfg.algorithm  # the loss's parameters, with the response cap filled in where it is implied
        if self.spec.length_field and getattr(self.algorithm, self.spec.length_field) is None:
            self.algorithm = self.algorithm.model_copy(update={self.spec.length_field: cfg.generation.max_new_tokens})
        torch.manual_seed(cfg.runtime.seed)
        model, tokenizer = load_model_dir(model_dir, DTYPES[cfg.model.dtype])
        self.tokenizer, self.pad_id = tokenizer, tokenizer.pad_token_id
        if cfg.learner.gradient_checkpointing:
            model.config.use_cache = False
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.model.lora is not None:
            from alignrl.learners.lora import apply_lora

            model = apply_lora(model, cfg.model.lora)
        self.options = ForwardOptions.from_config(cfg)
        self.units = self.spec.loss_units(self.algorithm)
        rt = cfg.runtime
        self.rank_share = rt.train_batch_size // world_size
        trainable = [p for p in model.parameters() if p.requires_grad]  # the adapters only, under LoRA
        # Fused: one kernel per step with no parameter-sized temporaries (foreach allocates several).
        optimizer = torch.optim.AdamW(trainable, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay, fused=True)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_multiplier(s, total_steps, cfg.optim.warmup_ratio, cfg.optim.schedule))
        ds_cfg = deepspeed_config(self.rank_share, world_size, rt.zero_stage, cfg.optim.grad_clip,
                                  cfg.model.dtype == "bfloat16")
        self.engine, _, _, self.scheduler = deepspeed.initialize(model=model, optimizer=optimizer,
                                                                 lr_scheduler=scheduler, config=ds_cfg)
        load_without_pickle(self.engine)  # --resume never runs code from a checkpoint's pickles
        self.device = next(self.engine.module.parameters()).device  # NCCL reduces only device tensors; autocast needs its type
        if world_size == 1 and rt.zero_stage == 0:  # nothing to reduce: skip the flattened copy of every gradient
            self.engine.enable_backward_allreduce = False  # (ZeRO's optimizers gather their gradients in that pass)
        self.reference = None  # learner.reference: learner: this rank scores its own share
        if cfg.learner.reference == "learner" and self.spec.uses_reference(self.algorithm):
            from alignrl.learners.reference import LearnerReference

            self.reference = LearnerReference(self.engine.module, model_dir, DTYPES[cfg.model.dtype])
        self.params = sum(p.numel() for p in model.parameters())
        self.trainable_params = sum(p.numel() for p in trainable)
        self.version = 0
        self._record_grad_norm()

    def _record_grad_norm(self) -> None:
        """Keep the pre-clip global gradient norm. ZeRO's optimizers report it; DeepSpeed's plain fp32
        path clips without keeping it, so its clip call is wrapped to keep the value it computes."""
        from deepspeed.runtime.utils import clip_grad_norm_

        engine, self.fp32_grad_norm = self.engine, None

        def clip_and_keep():
            norm = clip_grad_norm_(parameters=engine.module.parameters(), max_norm=engine.gradient_clipping(),
                                   mpu=engine.mpu)
            self.fp32_grad_norm = float(norm)

        engine.clip_fp32_gradients = clip_and_keep

    def grad_norm(self) -> float:
        norm = self.engine.get_global_grad_norm()
        return float(norm if norm is not None else (self.fp32_grad_norm or 0.0))

    def train_step(self, rows: list[dict]) -> dict:
        """One optimizer step over this rank's share, in micro-batches by example count and token budget.

        Each micro-batch's loss is weighted by its share of the loss's units (examples, sequences or
        tokens) in the whole train batch across ranks, so the gradient is that of the global mean.
        """
        from alignrl.learning.micro_batches import plan_micro_batches, split_to_count

        if len(rows) != self.rank_share:
            raise ValueError(f"rank {self.rank} got {len(rows)} examples, expected {self.rank_share}")
        started = time.perf_counter()
        reference_seconds = self.reference.score(self.kind, rows, self.pad_id, self.options) if self.reference else 0.0
        rt = self.cfg.runtime
        plan = plan_micro_batches(self.kind, rows, rt.micro_batch_size, rt.max_tokens_per_micro_batch,
                                  self.options.packing)
        rank_units = sum(self.kind.units(row, self.units) for row in rows)
        # Ranks agree on the micro-batch count (ZeRO-2/3 communicate per backward) and the unit total.
        agreed = torch.tensor([float(len(plan)), float(rank_units)], dtype=torch.float64, device=self.device)
        count, total = agreed.clone(), agreed.clone()
        dist.all_reduce(count, op=dist.ReduceOp.MAX)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        plan = split_to_count(plan, int(count[0]))
        units = [sum(self.kind.units(row, self.units) for row in batch) for batch in plan]
        total_units = max(float(total[1]), 1.0)
        self.engine.train()
        sums: dict[str, float] = {}
        for batch_rows, batch_units in zip(plan, units):
            weight = batch_units * self.world_size / total_units  # DeepSpeed averages over ranks
            with self._autocast():
                batch = self.kind.forward(self.engine.module, batch_rows, self.pad_id, self.spec.forward_extras,
                                          self.options)
                out = self.spec.loss(batch, self.algorithm)
            if not torch.isfinite(out.loss):
                raise FloatingPointError(f"rank {self.rank}: loss is {out.loss.item()} at version {self.version}")
            self.engine.backward(out.loss * weight, scale_wrt_gas=False)
            for key, value in {"loss": out.loss.item(), **out.metrics}.items():
                sums[key] = sums.get(key, 0.0) + value * weight  # the group's mean over ranks is the global mean
        self.engine.step()
        self.version += 1
        metrics = dict(sums)
        metrics["learner/step_seconds"] = time.perf_counter() - started
        metrics["learner/micro_batches"] = float(len(plan))
        if self.reference is not None:
            metrics["learner/reference_seconds"] = reference_seconds
        metrics["learner/grad_norm"] = self.grad_norm()
        metrics["learner/lr"] = self.scheduler.get_last_lr()[0] if self.scheduler else self.cfg.optim.lr
        metrics["learner/peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
        if torch.cuda.is_available():
            metrics["learner/peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
        return metrics

    def _autocast(self):
        if self.cfg.learner.autocast == "off":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
