"""Win rate against the starting policy: per held-out prompt, as judged by the configured reward."""

import pytest

from alignrl.runtime.evaluation import win_rate


def test_win_rate_counts_wins_and_half_ties_over_shared_prompts():
    start = {"a": 0.5, "b": 0.5, "c": 0.5, "gone": 1.0}
    assert win_rate({"a": 0.9, "b": 0.5, "c": 0.1, "new": 1.0}, start) == pytest.approx(0.5)
    assert win_rate({"a": 0.9, "b": 0.6, "c": 0.7}, start) == 1.0
    assert win_rate({"x": 1.0}, start) is None


def test_a_new_run_in_an_old_run_dir_judges_against_its_own_start(tmp_path):
    """Only a resumed run reads the step-0 generations already in its directory."""
    import json

    from alignrl.config import load_config_dict
    from alignrl.runtime.evaluation import Evaluator, eval_file

    path = eval_file(tmp_path, 0)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"prompt_id": "p1", "reward": 0.25}) + "\n")
    cfg = load_config_dict({})
    assert Evaluator(cfg, None, [], tmp_path, None).start is None
    assert Evaluator(cfg, None, [], tmp_path, None, resumed=True).start == {"p1": 0.25}
