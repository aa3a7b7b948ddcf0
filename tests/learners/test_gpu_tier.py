"""GPU tier: a ZeRO-3 learner over NCCL, weight export to a CUDA generator. Skipped without CUDA."""

import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_zero3_learner_trains_and_syncs_on_gpu(ray_cluster, warm_policy, tmp_path):
    from alignrl.metrics import read_metrics
    from alignrl.runtime.train import run_training
    from tests.conftest import e2e_config

    cfg = e2e_config(warm_policy, runtime={"total_steps": 4, "zero_stage": 3},
                     resources={"num_learners": 1, "learner_gpus": 1.0, "generator_gpus": 0.0})
    result = run_training(cfg, tmp_path)
    steps = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r.get("loss") is not None]
    assert len(steps) == 4 and all(r["perf/weight_sync_seconds"] >= 0 for r in steps)
    assert result.steps == 4
