"""RewardActor: scores (prompt, response) with a verifier function, an HF classifier or an HTTP endpoint."""

from __future__ import annotations

import ray

from alignrl.rewards import make_reward


@ray.remote
class RewardActor:
    def __init__(self, kind: str, function: str | None, model: str | None, url: str | None, timeout_s: float):
        self.backend = make_reward(kind, function, model, url, timeout_s)

    def score(self, samples: list[dict]) -> list[float]:
        """Rewards on the original prompt and response, never on a templated context."""
        return self.backend.score([s["prompt"] for s in samples], [s["response"] for s in samples],
                                  [s["sample_id"] for s in samples])

    def ping(self) -> bool:
        return True

    def score_texts(self, prompts: list[str], responses: list[str]) -> list[float]:
        return self.backend.score(prompts, responses, [f"text-{i}" for i in range(len(prompts))])
