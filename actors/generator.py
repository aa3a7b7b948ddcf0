"""GeneratorActor: samples responses with the current policy weights and takes new ones on request."""

from __future__ import annotations

import time

import ray
import torch

from alignrl.generation.rollouts import Rollouts
from alignrl.transport import TransportEnds


@ray.remote
class GeneratorActor:
    def __init__(self, index: int, backend: str, model_dir: str, dtype: str, seed: int, threads: int = 1,
                 version: int = 0, plugins: list[str] | None = None):
        from alignrl.generation import make_backend
        from alignrl.plugins import load_plugins

        torch.set_num_threads(max(1, threads))
        load_plugins(plugins)  # a plug-in may register the backend
        self.index, self.name = index, f"generator-{index}"
        self.backend = make_backend(backend, model_dir, dtype, seed)
        self.version = version  # the policy version of the weights in model_dir (non-zero on resume)
        self.ends = TransportEnds()
        self.rollouts = Rollouts(self.backend, self.name)

    def generate(self, prompts: list[dict], n: int, sampling: dict, round_id: int) -> list[dict]:
        """n samples per prompt; each row is a sample (docs/architecture.md) without reward or reference fields."""
        return self.rollouts.generate(prompts, n, sampling, round_id, self.version)

    def connect_transport(self, transport: str, addr: str, port: int, rank: int, world_size: int,
                          timeout_s: float) -> bool:
        self.ends.get(transport).connect(rank, world_size, addr, port, timeout_s)
        return True

    def receive_weights(self, transport: str, version: int, message, timeout_s: float) -> float:
        """Take `version` through `transport` and load it into the backend; returns seconds spent."""
        started = time.perf_counter()
        self.backend.load_state_dict(self.ends.get(transport).receive(message, timeout_s))
        self.version = version
        return time.perf_counter() - started

    def stats(self) -> dict:
        return {"version": self.version, "busy_seconds": self.rollouts.busy_seconds, "tokens": self.rollouts.tokens,
                "node_id": ray.get_runtime_context().get_node_id()}

    def digest(self) -> str:
        return self.backend.digest()
