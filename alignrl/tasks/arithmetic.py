"""Small integer arithmetic: `add:37+45` -> `82`, `sub:52-17` -> `35`."""

from __future__ import annotations

import random

from alignrl.tasks.base import Task, position_credit


class _ArithmeticTask(Task):
    op: str

    def __init__(self, max_operand: int = 99):
        if max_operand < 1:
            raise ValueError(f"max_operand must be >= 1, got {max_operand}")
        self.max_operand = max_operand

    def make_question(self, rng: random.Random) -> str:
        a, b = rng.randint(0, self.max_operand), rng.randint(0, self.max_operand)
        return f"{a}{self.op}{b}"

    def _operands(self, question: str) -> tuple[int, int]:
        left, _, right = question.partition(self.op)
        return int(left), int(right)

    def grade(self, answer: str, response: str) -> float:
        """Exact: 1. Otherwise half for closeness in value, half for right-aligned digits."""
        if response == answer:
            return 1.0
        try:
            value = int(response)
        except ValueError:
            return 0.0
        target = int(answer)
        closeness = max(0.0, 1.0 - abs(value - target) / (abs(target) + 10))
        digits = position_credit(answer[::-1], response[::-1])
        return 0.45 * closeness + 0.45 * digits

    def corrupt_char(self, rng: random.Random) -> str:
        return rng.choice("0123456789")


class Add(_ArithmeticTask):
    """`add:37+45` -> `82`."""

    name, prefix, op = "add", "add:", "+"

    def solve(self, question: str) -> str:
        a, b = self._operands(question)
        return str(a + b)


class Subtract(_ArithmeticTask):
    """`sub:52-17` -> `35` (answers may be negative)."""

    name, prefix, op = "sub", "sub:", "-"

    def solve(self, question: str) -> str:
        a, b = self._operands(question)
        return str(a - b)
