"""The reference inside the learner ranks, end to end: the same run as with the reference actor.

Iterative DPO resets its reference every 2 steps. In sync mode both placements train on the same
samples, so the losses must agree step for step; a resume across a reset must reproduce the
straight run, which needs the reset reference back from the checkpoint.
"""

import pytest

from alignrl.metrics import read_metrics
from alignrl.runtime.train import run_training
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu

SYNC = {"max_staleness": 0}
OPTIM = {"schedule": "constant", "warmup_ratio": 0.0, "lr": 3e-4}
ITERATION = {"steps_per_iteration": 2}


def _config(policy, placement: str, steps: int):
    return e2e_config(policy, runtime={**SYNC, "total_steps": steps}, optim=OPTIM, algorithm=ITERATION,
                      learner={"reference": placement})


def _steps(out):
    return [r for r in read_metrics(out / "metrics.jsonl") if r.get("loss") is not None]


def test_learner_reference_trains_as_the_actor_does_and_resumes_across_a_reset(ray_cluster, warm_policy, tmp_path):
    run_training(_config(warm_policy, "actor", 5), tmp_path / "actor")
    run_training(_config(warm_policy, "learner", 5), tmp_path / "learner")
    by_actor, by_learner = _steps(tmp_path / "actor"), _steps(tmp_path / "learner")
    assert len(by_actor) == len(by_learner) == 5
    assert [r["loss"] for r in by_learner] == pytest.approx([r["loss"] for r in by_actor], abs=1e-5)
    # the first step of each iteration trains against ref = policy: the DPO loss is log 2 there
    assert [by_learner[i]["loss"] for i in (0, 2, 4)] == pytest.approx([0.693147] * 3, abs=1e-5)
    assert all(r["learner/reference_seconds"] > 0 for r in by_learner)  # the ranks scored it ...
    assert not any("learner/reference_seconds" in r for r in by_actor)  # ... or the actor did
    final = by_learner[-1]
    assert final["buffer/evicted"] == 0 and final["buffer/lost"] == 0  # a reset leaves nothing stale

    split = run_training(_config(warm_policy, "learner", 3), tmp_path / "split")
    reference = tmp_path / "split" / "checkpoints" / "step_000003" / "reference"
    assert sorted(p.name for p in reference.glob("*.safetensors")), "the reset reference was not saved"
    assert split.steps == 3
    run_training(_config(warm_policy, "learner", 5), tmp_path / "split", resume=str(tmp_path / "split"))
    resumed = _steps(tmp_path / "split")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5]
    # step 4 trains against the reference reset at step 2, which only the checkpoint holds
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in by_learner], abs=1e-5)
