"""One round's samples from a generation backend, as SAMPLE_SCHEMA rows (generator actors and colocated ranks)."""

from __future__ import annotations

import time

from alignrl.data.schemas import check_samples


class Rollouts:
    """n samples per prompt from `backend`, with the busy time and token counts a generator reports."""

    def __init__(self, backend, name: str):
        self.backend, self.name = backend, name
        self.busy_seconds = 0.0
        self.tokens = 0

    def generate(self, prompts: list[dict], n: int, sampling: dict, round_id: int, version: int) -> list[dict]:
        """Each row is a sample (docs/architecture.md) without reward or reference fields."""
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
                "policy_version": version,
                "source": "on",
            })
            self.tokens += len(gen.token_ids)
        self.busy_seconds += time.perf_counter() - started
        return check_samples(rows, self.name)  # a plug-in backend's output is caught here, by field
