"""`alignrl bench` at its smallest size: every output exists and every figure is positive and finite
(offline/online runs, the bare DeepSpeed floor, TRL side by side, the weight-sync sweep)."""

import json
import math

import pytest
import yaml

from alignrl.launch.cli import main
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu


def test_bench_writes_json_table_and_plots(ray_cluster, warm_policy, tmp_path):
    base = e2e_config(warm_policy).model_dump(mode="json", by_alias=True)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(
        {"base": "base.yaml", "steps": 3, "eval_prompts": 16, "eval_interval": 2, "staleness": [0, 1],
         "trl_steps": 2, "trl_repeats": 1, "trl_prompts": 4, "sync_hidden_sizes": [128], "sync_repeats": 1,
         "compare_overrides": {"resources": {"layout": "colocated", "num_generators": 0},
                               "runtime": {"max_staleness": 0}},
         "trl_bf16": True}))
    assert main(["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    report = json.loads((out / "bench.json").read_text())
    assert sorted(report["runs"]) == ["offline", "online_s0", "online_s1"]
    for name, run in report["runs"].items():
        for key in ("samples_per_s", "step_seconds", "learner_busy", "reward_before", "reward_after"):
            assert math.isfinite(run[key]) and run[key] > 0, (name, key, run[key])
    assert report["runs"]["online_s1"]["tokens_per_s"] > 0
    for key in ("online_over_offline_samples_ratio", "async_s1_over_sync_steps_ratio", "runtime_overhead_ratio",
                "alignrl_over_trl_grpo_ratio", "alignrl_over_trl_online_dpo_ratio"):
        assert math.isfinite(report[key]), key
    assert report["runtime_overhead_ratio"] > -1 and report["floor"]["samples_per_s"] > 0
    for kind in ("grpo", "online_dpo"):  # both systems really trained and were timed, as configured
        assert report["trl"][kind]["alignrl_median"] > 0 and report["trl"][kind]["trl_median"] > 0
        assert report["trl"][kind]["trl_bf16"] is True and report["trl"][kind]["alignrl_layout"] == "colocated"
        saved = json.loads((out / "trl" / f"{kind}_alignrl_0" / "config.json").read_text())
        assert saved["resources"]["layout"] == "colocated"
    assert report["runs"]["online_s1"]["layout"] == "disaggregated"  # the sweep keeps the base layout
    (sync,) = report["weight_sync"]
    assert sync["params"] > 0 and sync["total_seconds"] > 0 and sync["path"] == "object_store"
    table = (out / "bench.md").read_text()
    assert "| offline | offline |" in table and "async_s1_over_sync_steps_ratio" in table
    assert "bare_deepspeed" in table and "| grpo |" in table and "| 128 |" in table
    for plot in ("throughput.png", "reward_vs_time.png", "weight_sync.png"):
        assert (out / plot).stat().st_size > 0
