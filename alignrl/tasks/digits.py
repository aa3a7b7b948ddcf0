"""Digit-string tasks: sort the digits, or reverse them."""

from __future__ import annotations

import random

from alignrl.tasks.base import Task, position_credit

DIGITS = "0123456789"


class _DigitTask(Task):
    def __init__(self, min_len: int = 3, max_len: int = 6):
        if not 1 <= min_len <= max_len:
            raise ValueError(f"need 1 <= min_len <= max_len, got {min_len}, {max_len}")
        self.min_len, self.max_len = min_len, max_len

    def make_question(self, rng: random.Random) -> str:
        n = rng.randint(self.min_len, self.max_len)
        return "".join(rng.choice(DIGITS) for _ in range(n))

    def grade(self, answer: str, response: str) -> float:
        return position_credit(answer, response)

    def corrupt_char(self, rng: random.Random) -> str:
        return rng.choice(DIGITS)


class DigitSort(_DigitTask):
    """`sort:5391` -> `1359`."""

    name, prefix = "digit_sort", "sort:"

    def solve(self, question: str) -> str:
        return "".join(sorted(question))


class DigitReverse(_DigitTask):
    """`rev:5391` -> `1935`."""

    name, prefix = "digit_reverse", "rev:"

    def solve(self, question: str) -> str:
        return question[::-1]
