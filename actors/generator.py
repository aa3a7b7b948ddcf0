"""GeneratorActor: samples responses with the current policy weights and takes new ones on request."""

from __future__ import annotations

import time

import ray
import torch

from alignrl.data.schemas import check_samples
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
        self.busy_seconds = 0.0
        self.tokens = 0

    def generate(self, prompts: list[dict], n: int, sampling: dict, round_id: int) -> list[dict]:
        """n samples per prompt; each row is a sample (docs/architecture.md) without reward or reference fields."""
        started = time.perf_counter()
        expanded = [p for p in prompts for _ in range(n)]
        gens = self.backend.generate([p["prompt_token_ids"] for p in expanded], seed=round_id, **sampling)
        rows = []
        for i, (prompt, gen) in enumerate(zip(expanded, gens)):
            rows.append({
                "sample_id": f"r{round_id}-{i}",
                "prompt_id": prompt["prompt_id"],
                "prompt": prompt["prompt"],
                "prompt_token_ids": prompt["prompt_token_ids"],
                "response": gen.text,
                "response_token_ids": gen.token_ids,
                "behaviour_logprobs": gen.logprobs,
                "finished": gen.finished,
                "policy_version": self.version,
                "source": "on",
            })
            self.tokens += len(gen.token_ids)
        self.busy_seconds += time.perf_counter() - started
        return check_samples(rows, self.name)  # a plug-in backend's output is caught here, by field

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
        return {"version": self.version, "busy_seconds": self.busy_seconds, "tokens": self.tokens,
                "node_id": ray.get_runtime_context().get_node_id()}

    def digest(self) -> str:
        return self.backend.digest()
