"""Win rate against the starting policy: per held-out prompt, as judged by the configured reward."""

import pytest

from alignrl.runtime.evaluation import win_rate


def test_win_rate_counts_wins_and_half_ties_over_shared_prompts():
    start = {"a": 0.5, "b": 0.5, "c": 0.5, "gone": 1.0}
    assert win_rate({"a": 0.9, "b": 0.5, "c": 0.1, "new": 1.0}, start) == pytest.approx(0.5)
    assert win_rate({"a": 0.9, "b": 0.6, "c": 0.7}, start) == 1.0
    assert win_rate({"x": 1.0}, start) is None
