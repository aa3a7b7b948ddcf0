"""Held-out reward of a policy on verifiable task prompts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from alignrl.data.encoding import encode_prompt
from alignrl.models.generate import generate
from alignrl.tasks import make_task
from alignrl.tasks.base import TaskPrompt


@dataclass
class EvalResult:
    reward_mean: float
    exact_match: float
    per_task: dict[str, float]
    samples: list[tuple[str, str, float]]  # (prompt, response, reward), a few for eyeballing

    def metrics(self, prefix: str = "eval") -> dict[str, float]:
        out = {f"{prefix}/reward_mean": self.reward_mean, f"{prefix}/exact_match": self.exact_match}
        out.update({f"{prefix}/reward/{task}": value for task, value in self.per_task.items()})
        return out


def evaluate_reward(model, tokenizer, prompts: list[TaskPrompt], max_new_tokens: int, greedy: bool = True,
                    temperature: float = 1.0, seed: int = 0) -> EvalResult:
    """Generate one response per held-out prompt and grade it with the task's verifier."""
    if not prompts:
        raise ValueError("evaluation needs at least one held-out prompt")
    generations = generate(model, tokenizer, [encode_prompt(tokenizer, p.text) for p in prompts], max_new_tokens,
                           temperature=0.0 if greedy else temperature, seed=seed)
    by_task: dict[str, list[float]] = defaultdict(list)
    samples, exact = [], 0
    tasks = {}
    for prompt, gen in zip(prompts, generations):
        task = tasks.setdefault(prompt.task, make_task(prompt.task))
        reward = task.reward(prompt.text, gen.text)
        by_task[prompt.task].append(reward)
        exact += gen.text.strip() == prompt.answer
        if len(samples) < 5:
            samples.append((prompt.text, gen.text, reward))
    rewards = [r for values in by_task.values() for r in values]
    return EvalResult(
        reward_mean=sum(rewards) / len(rewards),
        exact_match=exact / len(prompts),
        per_task={task: sum(v) / len(v) for task, v in by_task.items()},
        samples=samples,
    )
