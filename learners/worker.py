"""LearnerWorker: one DeepSpeed engine per rank, driven by the LearnerGroup."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import ray
import torch

from alignrl.transport import TransportEnds


@ray.remote(max_restarts=0)
class LearnerWorker:
    """Holds the policy on one rank. Rank 0 also serves weights for sync and writes checkpoints."""

    def __init__(self, rank: int, world_size: int, master_addr: str, master_port: int, threads: int = 1):
        # Each rank is its own process: the env below is what torch.distributed reads.
        self.rank, self.world_size = rank, world_size
        os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": "0",
                           "LOCAL_WORLD_SIZE": "1", "MASTER_ADDR": master_addr, "MASTER_PORT": str(master_port)})
        torch.set_num_threads(max(1, threads))
        self.policy = self.engine = None
        self.ends = TransportEnds()  # the weight transports this rank sends through
        self.rollouts = None  # resources.layout: colocated: this rank also generates, from its live weights

    def setup(self, cfg_json: dict, model_dir: str, total_steps: int, timeout_s: float) -> dict:
        """Join the process group, load the policy and build the DeepSpeed engine."""
        import deepspeed

        from alignrl.config import load_config_dict
        from alignrl.learners.engine import PolicyEngine

        cfg = load_config_dict(cfg_json)
        # NCCL between GPU ranks, gloo on CPU: the same code path either way.
        backend = "nccl" if torch.cuda.is_available() and cfg.resources.learner_gpus > 0 else "gloo"
        deepspeed.init_distributed(dist_backend=backend, auto_mpi_discovery=False,
                                   timeout=datetime.timedelta(seconds=timeout_s))
        self.policy = PolicyEngine(cfg, model_dir, self.rank, self.world_size, total_steps)
        self.engine, self.tokenizer = self.policy.engine, self.policy.tokenizer
        if cfg.resources.layout == "colocated":
            from alignrl.generation.hf import HFBackend
            from alignrl.generation.rollouts import Rollouts

            live = HFBackend.on_live_model(self.engine.module, self.tokenizer, cfg.runtime.seed)
            self.rollouts = Rollouts(live, f"learner-{self.rank}")
        return {"rank": self.rank, "rank_share": self.policy.rank_share, "params": self.policy.params,
                "trainable_params": self.policy.trainable_params}

    def train_step(self, rows: list[dict]) -> dict:
        return self.policy.train_step(rows)

    def generate(self, prompts: list[dict], n: int, sampling: dict, round_id: int) -> list[dict]:
        """Colocated generation: the generator's call, answered from this rank's live weights (no sync)."""
        if self.rollouts is None:
            raise RuntimeError(f"learner-{self.rank} generates only with resources.layout: colocated")
        return self.rollouts.generate(prompts, n, sampling, round_id, self.policy.version)

    def stats(self) -> dict:
        """A generator's stats, for a colocated rank: its version is always the learner's."""
        return {"version": self.policy.version, "busy_seconds": self.rollouts.busy_seconds if self.rollouts else 0.0,
                "tokens": self.rollouts.tokens if self.rollouts else 0, "node_id": self.node_id()}

    def connect_transport(self, name: str, addr: str, port: int, world_size: int, timeout_s: float) -> bool:
        """Rank 0 joins a collective transport's group as its root (rank 0 of that group)."""
        self.ends.get(name).connect(0, world_size, addr, port, timeout_s)
        return True

    def prepare_weights(self, name: str, bucket_mb: float) -> tuple[int, object]:
        """(version, message for the receivers) of the full weights; every rank gathers under ZeRO-3."""
        from alignrl.learners.weights import full_state_dict

        state = full_state_dict(self.engine)
        if self.rank != 0:
            return self.policy.version, None
        return self.policy.version, self.ends.get(name).prepare(state, bucket_mb)

    def send_weights(self, name: str, timeout_s: float) -> float:
        """Rank 0: the collective part of a push (the receivers sit in `receive` meanwhile)."""
        started = time.perf_counter()
        self.ends.get(name).send(timeout_s)
        return time.perf_counter() - started

    def save(self, out_dir: str, tag: str) -> str:
        """HF weights (safetensors) on rank 0 plus every rank's DeepSpeed optimizer state."""
        from alignrl.learners.weights import full_state_dict, save_policy

        out = Path(out_dir)
        state = full_state_dict(self.engine)
        self.engine.save_checkpoint(str(out / "deepspeed"), tag=tag, client_state={"version": self.policy.version})
        if self.rank == 0:
            save_policy(self.engine.module, state, out, self.tokenizer)
            reference = self.policy.reference
            if reference is not None and reference.version > 0:  # a reset reference differs from the start
                reference.save(out / "reference", self.tokenizer)
        return str(out)

    def load(self, out_dir: str, tag: str, ref_version: int = 0) -> int:
        _, client = self.engine.load_checkpoint(str(Path(out_dir) / "deepspeed"), tag=tag)
        self.policy.version = int(client["version"])
        ref_dir = Path(out_dir) / "reference"
        if self.policy.reference is not None and ref_version > 0 and ref_dir.is_dir():
            self.policy.reference.load(ref_dir, ref_version)
        return self.policy.version

    def reset_reference(self, version: int) -> int:
        """ref = the current policy, in place (learner.reference: learner); every rank calls it."""
        from alignrl.learners.weights import full_state_dict

        reference = self.policy.reference
        if reference is None:
            raise RuntimeError("this learner holds no reference (learner.reference is actor, or the loss reads none)")
        reference.reset(None if reference.lora else full_state_dict(self.engine), version)
        return version

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def digest(self) -> str:
        """Content hash of the full weights (every rank must call it under ZeRO-3)."""
        from alignrl.learners.weights import full_state_dict
        from alignrl.transport.buckets import state_digest

        return state_digest(full_state_dict(self.engine))

    def ping(self) -> int:
        return self.rank
