"""Verifiable tasks: deterministic prompts, graded rewards in [0, 1], train/held-out splits."""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskPrompt:
    """One prompt of a verifiable task, with its reference answer."""

    prompt_id: str
    task: str
    text: str
    answer: str


class Task(ABC):
    """A family member: makes prompts, knows the right answer, grades any response."""

    name: str
    prefix: str

    @abstractmethod
    def make_question(self, rng: random.Random) -> str:
        """Draw the question body (the text after the prefix)."""

    @abstractmethod
    def solve(self, question: str) -> str:
        """The exact answer to a question body."""

    @abstractmethod
    def grade(self, answer: str, response: str) -> float:
        """Reward in [0, 1] with partial credit; 1.0 only for an exact answer."""

    @abstractmethod
    def corrupt_char(self, rng: random.Random) -> str:
        """A plausible wrong character, used by the scripted oracles."""

    def prompt_text(self, question: str) -> str:
        return f"{self.prefix}{question}"

    def question_of(self, prompt_text: str) -> str:
        if not prompt_text.startswith(self.prefix):
            raise ValueError(f"prompt {prompt_text!r} is not a {self.name} prompt (expected prefix {self.prefix!r})")
        return prompt_text[len(self.prefix):]

    def reward(self, prompt_text: str, response: str) -> float:
        return self.grade(self.solve(self.question_of(prompt_text)), response.strip())

    def make_prompt(self, question: str) -> TaskPrompt:
        text = self.prompt_text(question)
        return TaskPrompt(prompt_id=stable_id(text), task=self.name, text=text, answer=self.solve(question))


def stable_id(text: str) -> str:
    """A short content hash: the same prompt gets the same id on every machine and run."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def is_heldout(prompt_id: str, heldout_fraction: float) -> bool:
    """Split by content hash, so train and held-out never share a prompt whatever the seed."""
    bucket = int(prompt_id[:8], 16) / 0xFFFFFFFF
    return bucket < heldout_fraction


def position_credit(target: str, response: str) -> float:
    """Fraction of aligned characters that match, over the longer of the two strings."""
    if not response:
        return 0.0
    hits = sum(a == b for a, b in zip(target, response))
    return hits / max(len(target), len(response))
