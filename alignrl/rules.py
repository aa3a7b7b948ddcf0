"""Rule rewards for chat prompts: cheap, deterministic signals a small model can learn on a CPU box.

They are for trying the runtime on a real model and the user's prompts in minutes, not measures of
answer quality; a trained reward model (`alignrl train-rm`, `reward.kind: classifier`) is that.
Each is a `reward.function` (`alignrl.rules:<name>`), called as fn(prompt=, response=) -> float.
"""

from __future__ import annotations

import math

TARGET_WORDS = 25
WIDTH_WORDS = 15.0


def brief_answer(prompt, response: str) -> float:
    """In [0, 1.2]: a bell over the word count around 25 words, +0.2 when the answer ends a sentence.

    Chat models at short token caps ramble into the cap; this rewards an answer that says its piece
    and stops. SmolLM2-135M at 48 new tokens has not learned it in 12 steps (docs/real-models.md §5).
    """
    words = len(response.split())
    if words == 0:
        return 0.0
    shape = math.exp(-(((words - TARGET_WORDS) / WIDTH_WORDS) ** 2))
    return shape + (0.2 if response.rstrip().endswith((".", "!", "?")) else 0.0)
