"""Multi-seed learning runs (slow tier): online DPO learns in sync and async mode, beyond seed noise."""

import json
import statistics

import pytest

from alignrl.metrics import read_metrics
from alignrl.runtime.train import run_training
from tests.conftest import e2e_config

pytestmark = [pytest.mark.slow, pytest.mark.cpu]

SEEDS = (0, 1, 2)
STEPS = 100


def _loop_steps_per_s(out) -> float:
    rows = [r for r in read_metrics(out / "metrics.jsonl") if r.get("perf/step_seconds") is not None]
    return len(rows) / sum(r["perf/step_seconds"] for r in rows)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_learning_across_seeds(ray_cluster, warm_policy, tmp_path, mode):
    runtime = {"total_steps": STEPS, "max_staleness": 0 if mode == "sync" else 1}
    gains, rates = [], []
    for seed in SEEDS:
        out = tmp_path / f"seed{seed}"
        result = run_training(e2e_config(warm_policy, runtime={**runtime, "seed": seed}, eval={"interval": 50}), out)
        gains.append(result.reward_after - result.reward_before)
        rates.append(_loop_steps_per_s(out))
    report = {"mode": mode, "before": result.reward_before, "gains": gains, "steps_per_s": rates,
              "gain_mean": statistics.mean(gains), "gain_std": statistics.stdev(gains)}
    print(json.dumps(report))
    (tmp_path.parent / f"learning_{mode}.json").write_text(json.dumps(report))
    assert min(gains) > 0.02
    assert statistics.mean(gains) > 3 * statistics.stdev(gains)  # the gain stands well outside seed noise
