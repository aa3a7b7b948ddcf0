"""Verifiable tasks: registry, deterministic splits, scripted oracles and reward entry points."""

from __future__ import annotations

from alignrl.tasks.arithmetic import Add, Subtract
from alignrl.tasks.base import Task, TaskPrompt, stable_id
from alignrl.tasks.digits import DigitReverse, DigitSort

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (DigitSort, DigitReverse, Add, Subtract)}


def make_task(name: str, **options) -> Task:
    """Build a task by registered name; options go to its constructor (lengths, operand range)."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name](**options)


def task_for_prompt(prompt_text: str) -> Task:
    """The task whose prefix starts this prompt (default options)."""
    for cls in TASKS.values():
        if prompt_text.startswith(cls.prefix):
            return cls()
    prefixes = ", ".join(cls.prefix for cls in TASKS.values())
    raise ValueError(f"prompt {prompt_text[:40]!r} matches no task prefix ({prefixes})")


def verify(prompt: str, response: str, **_: object) -> float:
    """Reward function for `module:function` reward servers: `alignrl.tasks:verify`."""
    return task_for_prompt(prompt).reward(prompt, response)


__all__ = ["TASKS", "Task", "TaskPrompt", "make_task", "stable_id", "task_for_prompt", "verify"]
