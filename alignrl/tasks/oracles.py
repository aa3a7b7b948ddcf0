"""Scripted "strong models": oracles with controllable error rates, and ranked response pools.

They stand in for the strong-model pools of DPO-Off and ReAlign, and for offline preference
datasets, so every off-policy path is testable without a model hub.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from alignrl.tasks.base import Task, TaskPrompt

DEFAULT_ERROR_RATES = (0.0, 0.15, 0.35, 0.6)


@dataclass(frozen=True)
class ScriptedOracle:
    """Answers correctly, then corrupts each character with probability `error_rate`."""

    name: str
    error_rate: float

    def respond(self, task: Task, prompt: TaskPrompt, rng: random.Random) -> str:
        out = []
        for ch in prompt.answer:
            roll = rng.random()
            if roll < self.error_rate * 0.25:
                continue  # dropped character
            out.append(task.corrupt_char(rng) if roll < self.error_rate else ch)
        return "".join(out)


@dataclass(frozen=True)
class PooledResponse:
    oracle: str
    text: str
    reward: float


def default_oracles(error_rates: tuple[float, ...] = DEFAULT_ERROR_RATES) -> list[ScriptedOracle]:
    for rate in error_rates:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"oracle error rate must be in [0, 1], got {rate}")
    return [ScriptedOracle(name=f"oracle-{rate:.2f}", error_rate=rate) for rate in error_rates]


def strong_pool(
    task: Task, prompt: TaskPrompt, oracles: list[ScriptedOracle], per_oracle: int, seed: int
) -> list[PooledResponse]:
    """m oracles x n samples, ranked by reward (best first; ties keep oracle order)."""
    rng = random.Random(f"{seed}:{prompt.prompt_id}")
    pool = []
    for oracle in oracles:
        for _ in range(per_oracle):
            text = oracle.respond(task, prompt, rng)
            pool.append(PooledResponse(oracle.name, text, task.reward(prompt.text, text)))
    return sorted(pool, key=lambda r: -r.reward)
