"""LearnerWorker: one DeepSpeed engine per rank, driven by the LearnerGroup."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import ray
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


@ray.remote(max_restarts=0)
class LearnerWorker:
    """Holds the policy on one rank. Rank 0 also serves weights for sync and writes checkpoints."""

    def __init__(self, rank: int, world_size: int, master_addr: str, master_port: int, threads: int = 1):
        # Each rank is its own process: the env below is what torch.distributed reads.
        self.rank, self.world_size = rank, world_size
        os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": "0",
                           "LOCAL_WORLD_SIZE": "1", "MASTER_ADDR": master_addr, "MASTER_PORT": str(master_port)})
        torch.set_num_threads(max(1, threads))
        self.engine = None

    def setup(self, cfg_json: dict, model_dir: str, total_steps: int, timeout_s: float) -> dict:
        """Join the process group, load the policy and build the DeepSpeed engine."""
        import deepspeed

        from alignrl.algorithms import get_algorithm
        from alignrl.config import load_config_dict
        from alignrl.models.tiny import load_model_dir
        from alignrl.models.policy import DTYPES
        from alignrl.schedule import lr_multiplier

        cfg = load_config_dict(cfg_json)
        self.cfg = cfg
        self.spec = get_algorithm(cfg.algorithm.name)
        # NCCL between GPU ranks, gloo on CPU: the same code path either way.
        backend = "nccl" if torch.cuda.is_available() and cfg.resources.learner_gpus > 0 else "gloo"
        deepspeed.init_distributed(dist_backend=backend, auto_mpi_discovery=False,
                                   timeout=datetime.timedelta(seconds=timeout_s))
        torch.manual_seed(cfg.runtime.seed)
        model, tokenizer = load_model_dir(model_dir, DTYPES[cfg.model.dtype])
        self.tokenizer, self.pad_id = tokenizer, tokenizer.pad_token_id
        rt = cfg.runtime
        grad_accum = rt.train_batch_size // (rt.micro_batch_size * self.world_size)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_multiplier(s, total_steps, cfg.optim.warmup_ratio, cfg.optim.schedule))
        ds_cfg = deepspeed_config(rt.micro_batch_size, grad_accum, self.world_size, rt.zero_stage, cfg.optim.grad_clip,
                                  cfg.model.dtype == "bfloat16")
        self.engine, _, _, self.scheduler = deepspeed.initialize(model=model, optimizer=optimizer,
                                                                 lr_scheduler=scheduler, config=ds_cfg)
        self.grad_accum = grad_accum
        self.version = 0
        return {"rank": self.rank, "grad_accum": grad_accum, "params": sum(p.numel() for p in model.parameters())}

    def train_step(self, rows: list[dict]) -> dict:
        """One optimizer step over this rank's share: grad_accum micro-batches of micro_batch_size rows."""
        from alignrl.learning.forward import loss_batch

        micro = self.cfg.runtime.micro_batch_size
        if len(rows) != micro * self.grad_accum:
            raise ValueError(f"rank {self.rank} got {len(rows)} examples, expected {micro * self.grad_accum}")
        started = time.perf_counter()
        self.engine.train()
        sums: dict[str, float] = {}
        for start in range(0, len(rows), micro):
            batch = loss_batch(self.spec.kind, self.engine.module, rows[start: start + micro], self.pad_id,
                               self.cfg.algorithm)
            out = self.spec.loss(batch, self.cfg.algorithm)
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

    def state_dict_buckets(self, bucket_mb: float) -> tuple[int, list]:
        """Rank 0: the full weights packed into flat buckets in the object store (one ref per bucket)."""
        from alignrl.runtime.weight_sync import pack_buckets, full_state_dict

        state = full_state_dict(self.engine)
        if self.rank != 0:
            return self.version, []
        return self.version, [ray.put(bucket) for bucket in pack_buckets(state, bucket_mb)]

    def save(self, out_dir: str, tag: str) -> str:
        """HF weights (safetensors) on rank 0 plus every rank's DeepSpeed optimizer state."""
        from alignrl.runtime.weight_sync import full_state_dict

        out = Path(out_dir)
        state = full_state_dict(self.engine)
        self.engine.save_checkpoint(str(out / "deepspeed"), tag=tag, client_state={"version": self.version})
        if self.rank == 0:
            self.engine.module.save_pretrained(out / "policy", state_dict=state, safe_serialization=True)
            self.tokenizer.save_pretrained(out / "policy")  # a checkpoint's policy is a complete HF model dir
        return str(out)

    def load(self, out_dir: str, tag: str) -> int:
        _, client = self.engine.load_checkpoint(str(Path(out_dir) / "deepspeed"), tag=tag)
        self.version = int(client["version"])
        return self.version

    def init_broadcast(self, addr: str, port: int, world_size: int, timeout_s: float) -> bool:
        """Rank 0 joins the weight-broadcast group with the generators as the root."""
        from alignrl.runtime.broadcast_sync import make_group

        self.broadcast_group = make_group(addr, port, 0, world_size, timeout_s, torch.cuda.is_available())
        self.broadcast_timeout = timeout_s
        return True

    def broadcast_layout(self, bucket_mb: float) -> tuple[int, list]:
        """Pack the current weights and return (version, layout); `broadcast_weights` sends them."""
        from alignrl.runtime.broadcast_sync import bucket_layout
        from alignrl.runtime.weight_sync import full_state_dict, pack_buckets

        self.outgoing = pack_buckets(full_state_dict(self.engine), bucket_mb)
        return self.version, bucket_layout(self.outgoing)

    def broadcast_weights(self) -> float:
        from alignrl.runtime.broadcast_sync import send_buckets

        started = time.perf_counter()
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        send_buckets(self.broadcast_group, self.outgoing, device, self.broadcast_timeout)
        self.outgoing = []
        return time.perf_counter() - started

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def digest(self) -> str:
        """Content hash of the full weights (every rank must call it under ZeRO-3)."""
        from alignrl.runtime.weight_sync import full_state_dict, state_digest

        return state_digest(full_state_dict(self.engine))

    def ping(self) -> int:
        return self.rank
