"""The on/off boundary probe inside a real run: it must pick off-policy data when that data is clearly
better than the policy's samples, and on-policy data when it is clearly worse."""

import json

import pytest

from alignrl.metrics import read_metrics
from alignrl.data.prompts import prompt_splits
from alignrl.runtime.train import run_training
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu

PROBE = {"name": "iterative_dpo", "samples_per_prompt": 4, "steps_per_iteration": 1,
         "boundary": {"enabled": True, "probe_prompts": 16, "latch": False}}


def _decisions(out) -> list[float]:
    return [r["boundary/use_on"] for r in read_metrics(out / "metrics.jsonl") if "boundary/use_on" in r]


def test_probe_picks_off_policy_data_for_a_policy_that_cannot_do_the_task(ray_cluster, tiny_model_dir, tmp_path):
    # An untrained policy against the oracles' best/worst answers: the off-policy pairs win every comparison.
    cfg = e2e_config(tiny_model_dir, algorithm=PROBE, runtime={"total_steps": 2})
    run_training(cfg, tmp_path)
    assert _decisions(tmp_path) == [0.0, 0.0]
    bs = [r["boundary/BS_on"] for r in read_metrics(tmp_path / "metrics.jsonl") if "boundary/BS_on" in r]
    assert max(bs) < 0.2


def test_probe_picks_on_policy_data_when_the_dataset_is_worse(ray_cluster, warm_policy, tmp_path):
    # The warm policy sorts most digits right; the dataset's answers are junk for the same prompts.
    base = e2e_config(warm_policy)
    prompts = prompt_splits(base).heldout[:16] + prompt_splits(base).train[:64]
    dataset = tmp_path / "junk.jsonl"
    dataset.write_text("".join(json.dumps({"prompt": p.text, "chosen": "x", "rejected": "xx"}) + "\n"
                               for p in prompts))
    cfg = e2e_config(warm_policy, algorithm=PROBE, runtime={"total_steps": 2},
                     data={"preference_dataset": str(dataset)})
    run_training(cfg, tmp_path / "run")
    assert _decisions(tmp_path / "run") == [1.0, 1.0]
