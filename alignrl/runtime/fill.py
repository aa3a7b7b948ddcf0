"""The batch-fill watch: a run whose rounds keep yielding too few examples stops, naming why, instead of stalling.

Between two learner steps it counts the finished rounds and what became of their samples. Once a
step has waited for `runtime.fill_patience` times the rounds a full batch needs, the run stops with
the shares of samples that were truncated, unpaired or stale, and the fix for the largest share.
"""

from __future__ import annotations

import math
from collections import Counter

from alignrl.runtime.calls import FillError


class FillWatch:
    def __init__(self, cfg, examples_per_round: int):
        self.cfg = cfg
        rt = cfg.runtime
        self.needed = max(1, math.ceil(rt.train_batch_size / max(1, examples_per_round)))
        self.limit = max(self.needed + 1, math.ceil(self.needed * rt.fill_patience))
        self.reset()

    def reset(self) -> None:
        self.rounds = self.examples = self.samples = self.cut = self.evicted = 0
        self.reasons: Counter[str] = Counter()

    def record(self, build, n_samples: int) -> None:
        self.rounds += 1
        self.examples += build.examples.num_rows
        self.samples += n_samples
        self.cut += build.cut
        self.evicted += len(build.evicted)
        self.reasons.update(build.reasons)
        if self.rounds >= self.limit:
            raise FillError(self.explain())

    def explain(self) -> str:
        gen, rt, n = self.cfg.generation, self.cfg.runtime, max(1, self.samples)
        share = lambda k: f"{k} ({100 * k / n:.0f}%)"  # noqa: E731
        parts = [f"{share(self.cut)} hit generation.max_new_tokens={gen.max_new_tokens} without EOS"]
        if self.reasons["truncated"]:
            parts.append(f"{share(self.reasons['truncated'])} were dropped for it (generation.truncated: drop)")
        parts.append(f"{share(self.reasons['unpaired'])} made no example (ties, empty or identical responses, "
                     f"incomplete groups)")
        parts.append(f"{share(self.evicted)} were scored under an older reference")
        if self.reasons["truncated"] >= max(self.reasons["unpaired"], self.evicted):
            fix = "raise generation.max_new_tokens, or set generation.truncated: penalize (or keep)"
        elif self.reasons["unpaired"] >= self.evicted:
            fix = ("sample more responses per prompt, raise generation.temperature, or use a reward that "
                   "separates responses (ties make no pair)")
        else:
            fix = "lengthen the reference's iterations (fewer resets) or lower runtime.max_staleness"
        return (f"the learner cannot fill its batch: {self.rounds} rounds since the last step built "
                f"{self.examples} examples for a batch of {rt.train_batch_size}. Of their {self.samples} samples, "
                f"{'; '.join(parts)}. Fix: {fix} (runtime.fill_patience={rt.fill_patience:g} bounds the wait)")
