"""Honest reward-model evaluation: pair accuracy with its 95% interval, next to "the longer answer wins",
overall, where the two answers have similar lengths (so length cannot decide), and per generator.

A tie in reward counts as wrong; a tie in length counts as half right for the length baseline.
Lengths are in characters, as the length baseline counts them.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from alignrl.models.rm_scoring import score_inputs
from alignrl.models.rm_inputs import RMSpec


SIMILAR_LENGTH = 0.2  # answers whose lengths differ by less than this share of the longer one


@dataclass
class Bucket:
    pairs: int
    accuracy: float | None  # None when the bucket is empty
    low: float | None  # 95% Wilson interval of the accuracy
    high: float | None
    length_baseline: float | None  # "the longer answer wins" on the same pairs


@dataclass
class RMEvalReport:
    pairs: int
    distinct_answers: int  # (prompt, answer) inputs scored, each once
    overall: Bucket
    similar_length: Bucket
    per_generator: dict[str, Bucket]  # by the judged side's generator (`generator_b`), where the file names it
    reward_ties: int  # pairs whose two answers got the same reward (counted wrong)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows left out before scoring
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"pair accuracy {_bucket_text(self.overall)}",
               f"similar lengths (within {SIMILAR_LENGTH:.0%}): {_bucket_text(self.similar_length)}"]
        if self.per_generator:
            width = max(len(name) for name in self.per_generator)
            out.append(f"  {'generator':<{width}}  pairs  accuracy  95% interval   length baseline")
            for name, b in sorted(self.per_generator.items(), key=lambda kv: kv[1].accuracy or 0.0):
                out.append(f"  {name:<{width}}  {b.pairs:>5}  {b.accuracy:>8.3f}  [{b.low:.3f}, {b.high:.3f}]"
                           f"  {b.length_baseline:>15.3f}")
        skipped = sum(self.skipped.values())
        out.append(f"skipped {skipped} row(s)" + (": " + ", ".join(
            f"{n} {why}" for why, n in sorted(self.skipped.items(), key=lambda kv: -kv[1]))
                                                  if skipped else ""))
        out.append(f"scored {self.distinct_answers} distinct answers in {self.seconds:.1f}s; "
                   f"{self.reward_ties} reward tie(s) counted wrong")
        return out


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion: sane at 0, 1 and small n, unlike p ± z·se."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def length_vote(pair: dict) -> float:
    """1 if the chosen answer is longer, 0 if shorter, 0.5 on equal length."""
    chosen, rejected = len(pair["chosen"]), len(pair["rejected"])
    return 1.0 if chosen > rejected else 0.5 if chosen == rejected else 0.0


def similar_length(pair: dict) -> bool:
    chosen, rejected = len(pair["chosen"]), len(pair["rejected"])
    return abs(chosen - rejected) < SIMILAR_LENGTH * max(chosen, rejected, 1)


def bucket(hits: list[bool], pairs: list[dict]) -> Bucket:
    if not pairs:
        return Bucket(0, None, None, None, None)
    low, high = wilson_interval(sum(hits), len(hits))
    return Bucket(len(pairs), sum(hits) / len(hits), low, high, sum(map(length_vote, pairs)) / len(pairs))


def pair_inputs(pairs: list[dict]) -> list[tuple[str, str]]:
    """Every pair's (prompt, chosen), then every pair's (prompt, rejected): the order `evaluate_pairs` scores."""
    return [(p["prompt"], p["chosen"]) for p in pairs] + [(p["prompt"], p["rejected"]) for p in pairs]


def evaluate_pairs(pairs: list[dict], score: Callable[[list[tuple[str, str]]], list[float]],
                   skipped: dict[str, int] | None = None) -> RMEvalReport:
    """Score the pairs' (prompt, answer) inputs with `score` (one reward per input, in order), then report
    each bucket's accuracy and baseline."""
    started = time.perf_counter()
    inputs = pair_inputs(pairs)
    scores = score(inputs)
    chosen, rejected = scores[: len(pairs)], scores[len(pairs):]
    hits = [c > r for c, r in zip(chosen, rejected)]
    similar = [i for i, p in enumerate(pairs) if similar_length(p)]
    by_generator: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        if p.get("generator"):
            by_generator[p["generator"]].append(i)
    return RMEvalReport(
        pairs=len(pairs), distinct_answers=len(set(inputs)), overall=bucket(hits, pairs),
        similar_length=bucket([hits[i] for i in similar], [pairs[i] for i in similar]),
        per_generator={g: bucket([hits[i] for i in rows], [pairs[i] for i in rows])
                       for g, rows in by_generator.items()},
        reward_ties=sum(c == r for c, r in zip(chosen, rejected)), skipped=dict(skipped or {}),
        seconds=time.perf_counter() - started)


def _bucket_text(b: Bucket) -> str:
    if not b.pairs:
        return "no pairs"
    return (f"{b.accuracy:.3f} [{b.low:.3f}, {b.high:.3f}] on {b.pairs} pairs "
            f"(length baseline {b.length_baseline:.3f})")


def evaluate_reward_model(model, tokenizer, pairs: list[dict], spec: RMSpec, skipped: dict[str, int] | None = None,
                          batch_size: int = 64, progress: bool = False) -> RMEvalReport:
    """evaluate_pairs with an HF classifier's rewards: each distinct input once, in length-sorted batches."""
    return evaluate_pairs(pairs, lambda inputs: score_inputs(model, tokenizer, inputs, spec, batch_size,
                                                             progress), skipped)
