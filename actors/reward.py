"""RewardActor: scores (prompt, response) with a verifier function, an HF classifier or an HTTP endpoint."""

from __future__ import annotations

import ray

from alignrl.rewards import make_reward


@ray.remote
class RewardActor:
    def __init__(self, kind: str, function: str | None, model: str | None, url: str | None, timeout_s: float,
                 plugins: list[str] | None = None):
        from alignrl.plugins import load_plugins

        load_plugins(plugins)  # a plug-in may register the reward kind, or hold the reward function
        self.backend = make_reward(kind, function, model, url, timeout_s)

    def score(self, samples: list[dict]) -> list[float]:
        """Rewards on the original prompt and response, never on a templated context."""
        return self.backend.score([s["prompt"] for s in samples], [s["response"] for s in samples],
                                  [s["sample_id"] for s in samples])

    def fill(self, samples: list[dict], extra: list[dict] | None = None) -> list[dict]:
        """Score the samples that carry no reward yet (dataset rows may bring their own); `extra` joins them."""
        samples = list(samples) + list(extra or [])
        todo = [s for s in samples if s.get("reward") is None]
        if todo:
            for sample, reward in zip(todo, self.score(todo)):
                sample["reward"] = reward
        return samples

    def fill_cross(self, samples: list[dict], block_size: int) -> list[dict]:
        """VAR: for each block of B samples, r(x_i, y_j) for every pair, stored row-wise on sample i."""
        for start in range(0, len(samples) - block_size + 1, block_size):
            block = samples[start: start + block_size]
            prompts = [a["prompt"] for a in block for _ in block]
            responses = [b["response"] for _ in block for b in block]
            ids = [f"{a['sample_id']}x{b['sample_id']}" for a in block for b in block]
            scores = self.backend.score(prompts, responses, ids)
            for i, sample in enumerate(block):
                sample["reward_cross_row"] = scores[i * block_size: (i + 1) * block_size]
                sample["reward"] = sample["reward_cross_row"][i]
        return samples

    def ping(self) -> bool:
        return True

    def score_texts(self, prompts: list[str], responses: list[str]) -> list[float]:
        return self.backend.score(prompts, responses, [f"text-{i}" for i in range(len(prompts))])
