"""Helpers for drills and tests: reward functions that hang, fail or misbehave, and one that always separates.

Use them as `reward.function: alignrl.testing:hanging_reward` to check that a run reports the
fault by name within its timeout instead of stalling or training on garbage.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from alignrl.tasks import verify


def hanging_reward(prompt: str, response: str) -> float:
    """Never answers in any useful time (an overloaded judge)."""
    time.sleep(3600)
    return verify(prompt, response)


def reward_that_hangs_on_cue(prompt: str, response: str) -> float:
    """The task's own reward until the file named by $ALIGNRL_HANG_FILE exists, then it hangs (a judge that
    stops answering mid-run). The actors inherit the variable from the driver that started Ray."""
    cue = os.environ.get("ALIGNRL_HANG_FILE")
    if cue and Path(cue).exists():
        time.sleep(3600)
    return verify(prompt, response)


def nan_reward(prompt: str, response: str) -> float:
    return float("nan")


def inf_reward(prompt: str, response: str) -> float:
    return float("inf")


def raising_reward(prompt: str, response: str) -> float:
    raise RuntimeError("the judge crashed")


def distinct_reward(prompt: str, response: str) -> float:
    """A stable pseudo-random score in [0, 1) per response text: distinct responses (almost) never tie, so
    every round of an untrained policy makes pairs. For soaks and plumbing runs, not for learning."""
    digest = hashlib.blake2b(f"{prompt}\0{response}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
