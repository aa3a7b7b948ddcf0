"""Train and held-out prompt sets, deterministic from a seed and disjoint by construction."""

from __future__ import annotations

import random
from dataclasses import dataclass

from alignrl.tasks.base import Task, TaskPrompt, is_heldout


@dataclass(frozen=True)
class PromptSplits:
    train: list[TaskPrompt]
    heldout: list[TaskPrompt]


def make_splits(
    tasks: list[Task], n_train: int, n_heldout: int, seed: int, heldout_fraction: float = 0.2
) -> PromptSplits:
    """Draw unique prompts round-robin over `tasks` until both splits are full.

    Which split a prompt lands in depends only on its text (a content hash), so changing the
    seed or sizes reshuffles prompts but never leaks a held-out prompt into training.
    """
    if not tasks:
        raise ValueError("make_splits needs at least one task")
    rng = random.Random(seed)
    train: list[TaskPrompt] = []
    heldout: list[TaskPrompt] = []
    seen: set[str] = set()
    attempts, limit = 0, 50 * (n_train + n_heldout) + 1000
    while len(train) < n_train or len(heldout) < n_heldout:
        attempts += 1
        if attempts > limit:
            raise ValueError(
                f"could not draw {n_train} train + {n_heldout} held-out unique prompts from "
                f"{[t.name for t in tasks]}: the task space is too small; widen lengths/operands"
            )
        task = tasks[attempts % len(tasks)]
        prompt = task.make_prompt(task.make_question(rng))
        if prompt.prompt_id in seen:
            continue
        seen.add(prompt.prompt_id)
        target = heldout if is_heldout(prompt.prompt_id, heldout_fraction) else train
        limit_for_target = n_heldout if target is heldout else n_train
        if len(target) < limit_for_target:
            target.append(prompt)
    return PromptSplits(train=train, heldout=heldout)
