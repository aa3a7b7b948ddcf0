"""SmolLM2 learns (slow tier): the shipped configs raise held-out reward beyond the eval's noise.

Each run is the shipped config on the AlpacaEval prompts (and, offline, its leaderboard answers)
with the rule reward, shortened to a few dozen steps; the gain must exceed twice the final eval's
standard error. Peak learner memory and step time are printed for the real-models table.
"""

import json
import statistics

import pytest

from alignrl.config import load_config
from alignrl.metrics import read_metrics
from alignrl.offline import use_offline_builds
from alignrl.runtime.train import run_training
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.cpu]

STEPS = {"grpo": 12, "grpo_lora": 12, "iterative_dpo": 12, "dpo": 12}


@pytest.mark.timeout(1800)  # a dozen real-model steps of 30-60 s each, and two evals
@pytest.mark.parametrize("name", sorted(STEPS))
def test_smollm2_learns_beyond_eval_noise(ray_cluster, alpaca_eval, tmp_path, name):
    steps = STEPS[name]
    cfg = use_offline_builds(load_config(REPO / "configs" / "smollm2" / f"{name}.yaml", [
        f"runtime.total_steps={steps}", f"eval.interval={steps}", "logging.wandb_mode=disabled",
        "logging.progress=false"]))
    out = tmp_path / name
    result = run_training(cfg, out)
    rows = read_metrics(out / "metrics.jsonl")
    evals = [r for r in rows if "eval/reward_mean" in r]
    trained = [r for r in rows if r.get("loss") is not None]
    gain, sem = result.reward_after - result.reward_before, evals[-1]["eval/reward_sem"]
    report = {"config": name, "steps": steps, "before": result.reward_before, "after": result.reward_after,
              "sem": sem, "gain": gain, "win_rate_vs_start": evals[-1].get("eval/win_rate_vs_start"),
              "learner_step_s_median": statistics.median(r["learner/step_seconds"] for r in trained[1:]),
              "learner_peak_rss_gb": max(r["learner/peak_rss_gb"] for r in trained), "seconds": result.seconds}
    print(json.dumps(report))
    (tmp_path.parent / f"smollm2_learning_{name}.json").write_text(json.dumps(report))
    assert len(trained) == steps and gain > 2 * sem, report
