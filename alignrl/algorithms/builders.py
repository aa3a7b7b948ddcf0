"""Turn scored samples into preference pairs, the unit of every pairwise method."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScoredResponse:
    """One response to a context, with its reward; `finished` is False when it hit max length without EOS."""

    prompt_id: str
    context: str
    text: str
    reward: float
    finished: bool = True
    sample_id: str = ""


@dataclass(frozen=True)
class PreferencePair:
    prompt_id: str
    context: str
    chosen: str
    rejected: str
    chosen_reward: float
    rejected_reward: float
    source: str
    chosen_id: str = ""
    rejected_id: str = ""


def group_by_prompt(responses: Iterable[ScoredResponse]) -> dict[str, list[ScoredResponse]]:
    groups: dict[str, list[ScoredResponse]] = defaultdict(list)
    for r in responses:
        groups[r.prompt_id].append(r)
    return dict(groups)


def usable(r: ScoredResponse, keep_truncated: bool = False) -> bool:
    """Empty responses never enter a pair; truncated ones (no EOS) only when the caller keeps them
    (the runtime applies `generation.truncated` before pairing; docs/algorithms.md §0)."""
    return bool(r.text.strip()) and (keep_truncated or r.finished)


def best_worst_pair(responses: list[ScoredResponse], source: str, context: str | None = None,
                    keep_truncated: bool = False) -> PreferencePair | None:
    """y_w = argmax reward, y_l = argmin reward; None on a tie, identical texts, or too few usable responses.

    The first maximum and the first minimum win ties in position, so results are deterministic.
    """
    kept = [r for r in responses if usable(r, keep_truncated)]
    if len(kept) < 2:
        return None
    best = max(kept, key=lambda r: r.reward)
    worst = min(kept, key=lambda r: r.reward)
    if best.reward == worst.reward or best.text == worst.text:
        return None
    return PreferencePair(
        prompt_id=best.prompt_id,
        context=best.context if context is None else context,
        chosen=best.text,
        rejected=worst.text,
        chosen_reward=best.reward,
        rejected_reward=worst.reward,
        source=source,
        chosen_id=best.sample_id,
        rejected_id=worst.sample_id,
    )


def best_worst_pairs(responses: Iterable[ScoredResponse], source: str = "on") -> list[PreferencePair]:
    """DPO-On / iterative DPO pairs: one per prompt, prompts in first-seen order."""
    pairs = []
    for group in group_by_prompt(responses).values():
        pair = best_worst_pair(group, source)
        if pair is not None:
            pairs.append(pair)
    return pairs
