"""The colocated layout end to end: the learner ranks generate from their live weights, with no sync.

In sync mode a colocated run must train exactly as the disaggregated one (the same samples from the
same weights and seeds, so the same weights after N steps), and a longer colocated run must learn.
"""

import pytest
import torch
from safetensors.torch import load_file

from alignrl.metrics import read_metrics
from alignrl.runtime.train import run_training
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu

# One thread everywhere, so generator actor and learner rank compute bit for bit alike.
ONE_THREAD = {"learner_cpus": 1.0, "generator_cpus": 1.0}


def _weights(out):
    return load_file(str(sorted((out / "checkpoints").glob("step_*"))[-1] / "policy" / "model.safetensors"))


def _steps(out):
    return [r for r in read_metrics(out / "metrics.jsonl") if r.get("loss") is not None]


def test_colocated_sync_trains_to_the_same_weights_as_disaggregated(ray_cluster, warm_policy, tmp_path):
    runtime = {"max_staleness": 0, "total_steps": 4}
    run_training(e2e_config(warm_policy, runtime=runtime, resources=ONE_THREAD), tmp_path / "split")
    colocated = {**ONE_THREAD, "layout": "colocated", "num_generators": 0}
    run_training(e2e_config(warm_policy, runtime=runtime, resources=colocated), tmp_path / "colocated")
    split, together = _weights(tmp_path / "split"), _weights(tmp_path / "colocated")
    assert split.keys() == together.keys()
    start = load_file(str(warm_policy / "model.safetensors"))
    assert max((split[k] - start[k]).abs().max().item() for k in split) > 1e-4  # training moved the weights ...
    assert max((split[k] - together[k]).abs().max().item() for k in split) < 1e-6  # ... to the same place
    by_split, by_together = _steps(tmp_path / "split"), _steps(tmp_path / "colocated")
    assert [r["loss"] for r in by_together] == pytest.approx([r["loss"] for r in by_split], abs=1e-6)
    assert all("perf/weight_sync_seconds" in r for r in by_split)
    assert not any(r.get("perf/weight_sync_seconds") for r in by_together)  # no weights crossed a process


def test_colocated_run_raises_heldout_reward(ray_cluster, warm_policy, tmp_path):
    cfg = e2e_config(warm_policy, runtime={"total_steps": 60, "max_staleness": 0}, eval={"interval": 30},
                     resources={"layout": "colocated", "num_generators": 0})
    result = run_training(cfg, tmp_path)
    assert result.reward_after > result.reward_before + 0.02, (result.reward_before, result.reward_after)
    steps = _steps(tmp_path)
    assert len(steps) == 60 and all(torch.isfinite(torch.tensor(r["loss"])) for r in steps)
    assert steps[-1]["buffer/lost"] == 0 and steps[-1]["buffer/trained"] == 60 * 16 * 2
