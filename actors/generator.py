"""GeneratorActor: samples responses with the current policy weights and loads new ones on request."""

from __future__ import annotations

import time

import ray
import torch

from alignrl.runtime.weight_sync import unpack_bucket


@ray.remote
class GeneratorActor:
    def __init__(self, index: int, backend: str, model_dir: str, dtype: str, seed: int, threads: int = 1,
                 version: int = 0):
        from actors.backends import make_backend

        torch.set_num_threads(max(1, threads))
        self.index, self.name = index, f"generator-{index}"
        self.backend = make_backend(backend, model_dir, dtype, seed)
        self.version = version  # the policy version of the weights in model_dir (non-zero on resume)
        self.busy_seconds = 0.0
        self.tokens = 0

    def generate(self, prompts: list[dict], n: int, sampling: dict, round_id: int) -> list[dict]:
        """n samples per prompt; each row is a sample (DESIGN.md §2) without reward or reference fields."""
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
        return rows

    def load_weights(self, version: int, buckets: list) -> float:
        """Replace every weight from bucketed object-store refs; returns seconds spent."""
        started = time.perf_counter()
        state = {}
        for bucket in ray.get(list(buckets)):
            state.update(unpack_bucket(bucket))
        self.backend.load_state_dict(state)
        self.version = version
        return time.perf_counter() - started

    def init_broadcast(self, addr: str, port: int, rank: int, world_size: int, timeout_s: float) -> bool:
        from alignrl.runtime.broadcast_sync import make_group

        self.broadcast_group = make_group(addr, port, rank, world_size, timeout_s, torch.cuda.is_available())
        self.broadcast_timeout = timeout_s
        return True

    def receive_broadcast(self, version: int, layout: list) -> float:
        """Join the learner's broadcast of `version` and load the weights it carries."""
        from alignrl.runtime.broadcast_sync import receive_buckets

        started = time.perf_counter()
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        state = {}
        for bucket in receive_buckets(self.broadcast_group, layout, device, self.broadcast_timeout):
            state.update(unpack_bucket(bucket))
        self.backend.load_state_dict(state)
        self.version = version
        return time.perf_counter() - started

    def stats(self) -> dict:
        return {"version": self.version, "busy_seconds": self.busy_seconds, "tokens": self.tokens,
                "node_id": ray.get_runtime_context().get_node_id()}

    def digest(self) -> str:
        return self.backend.digest()
