"""`alignrl bench configs/bench_smollm2.yaml` at its smallest size (slow tier: every real-model step costs
20-60 s here, so even this size takes about 20 minutes). Every figure is measured and finite, and the
TRL comparison ran alignrl in the config's colocated layout."""

import json
import math

import pytest

from alignrl.launch.cli import main
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.cpu]


@pytest.mark.timeout(3600)
def test_smollm2_bench_measures_every_figure(ray_cluster, alpaca_eval, tmp_path):
    out = tmp_path / "out"
    assert main(["bench", str(REPO / "configs" / "bench_smollm2.yaml"), "--out", str(out), "--set", "steps=3",
                 "--set", "eval_prompts=2", "--set", "eval_interval=3", "--set", "trl_steps=2",
                 "--set", "trl_repeats=1", "--set", "staleness=[0]"]) == 0
    report = json.loads((out / "bench.json").read_text())
    assert sorted(report["runs"]) == ["offline", "online_s0", "online_s1"]
    for run in report["runs"].values():
        assert math.isfinite(run["samples_per_s"]) and run["samples_per_s"] > 0 and run["peak_rss_gb"] > 0.5
    assert report["runs"]["online_s1"]["weight_sync_seconds"] > 0
    for kind in ("grpo", "online_dpo"):
        assert math.isfinite(report[f"alignrl_over_trl_{kind}_ratio"])
        assert report["trl"][kind]["alignrl_layout"] == "colocated"
    assert math.isfinite(report["runtime_overhead_ratio"])
