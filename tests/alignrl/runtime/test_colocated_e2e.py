"""The colocated layout end to end: the learner ranks generate from their live weights, with no sync.

In sync mode a colocated run must train exactly as the disaggregated one (the same samples from the
same weights and seeds, so the same weights after N steps), and a longer colocated run must learn.
"""

import threading
import time

import pytest
import ray
import torch
from safetensors.torch import load_file

from alignrl.learners.group import LearnerError
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


def test_a_colocated_rank_that_dies_stops_the_run_with_its_name(ray_cluster, warm_policy, tmp_path):
    cfg = e2e_config(warm_policy, runtime={"total_steps": 200, "max_staleness": 0},
                     resources={"layout": "colocated", "num_generators": 0})

    def kill_rank_0_once_training_runs():
        path = tmp_path / "metrics.jsonl"
        while not (path.is_file() and any(r.get("loss") is not None for r in read_metrics(path))):
            time.sleep(0.2)
        ray.kill(ray.get_actor("learner-0", namespace=cfg.runtime.namespace))

    threading.Thread(target=kill_rank_0_once_training_runs, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(LearnerError, match=r"learner rank 0 died .*resume from the last checkpoint with --resume"):
        run_training(cfg, tmp_path)
    assert time.monotonic() - started < 120  # stopped, not retried round after round
