import json

from alignrl.config import load_config
from alignrl.metrics import read_metrics
from alignrl.models.sft import run_sft
from alignrl.models.tiny import load_model_dir


def test_sft_warmup_reaches_partial_competence(repo_root, tmp_path):
    cfg = load_config(repo_root / "configs" / "tiny_sort.yaml",
                      ["sft.steps=60", "data.n_train=1000", "eval.num_prompts=64", "logging.progress=false"])
    result = run_sft(cfg, tmp_path)
    assert result.reward_before < 0.2
    assert result.reward_after > result.reward_before + 0.3
    model, _ = load_model_dir(result.model_dir)
    assert model.config.num_hidden_layers == 4
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert rows[0]["step"] == 0 and rows[0]["eval/reward_mean"] == result.reward_before
    assert rows[-1]["eval/reward_mean"] == result.reward_after
    assert json.loads((tmp_path / "sft_result.json").read_text())["steps"] == 60
