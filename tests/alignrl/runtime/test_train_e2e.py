"""End to end on a real local Ray cluster: real actors, a 2-rank DeepSpeed learner, the tiny policy."""

import pytest
import ray

from alignrl.metrics import read_metrics
from alignrl.runtime.controller import Controller, ControllerState
from alignrl.runtime.pipelines import Pipeline
from alignrl.runtime.progress import RunProgress
from alignrl.runtime.session import RaySession
from alignrl.runtime.setup import initial_policy
from alignrl.runtime.wiring import place_actors
from alignrl.runtime.telemetry import Telemetry
from alignrl.runtime.train import _encode_prompts, run_training
from alignrl.metrics import MetricsSink
from alignrl.data.prompts import prompt_splits
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu


def _rows_with(metrics, key):
    return [r for r in metrics if r.get(key) is not None]


@pytest.mark.parametrize("weight_sync", ["object_store", "broadcast"])
def test_weight_sync_is_bit_identical_on_every_generator(ray_cluster, warm_policy, tmp_path, weight_sync):
    cfg = e2e_config(warm_policy, resources={"num_generators": 2},
                     runtime={"total_steps": 2, "weight_sync": weight_sync})
    policy_dir, tokenizer = initial_policy(cfg, tmp_path)
    prompts = _encode_prompts(cfg, tokenizer, prompt_splits(cfg).train)
    with RaySession(cfg) as session:
        pipeline = Pipeline(cfg, prompts, None)
        handles = place_actors(cfg, session, policy_dir, None, pipeline.schema)
        handles.learners.setup(cfg.model_dump(mode="json", by_alias=True), str(policy_dir), 2)
        if weight_sync == "broadcast":  # gloo here; the same code runs NCCL between GPUs
            handles.learners.connect_transport("broadcast", handles.generators)
        before = handles.learners.digest()
        with MetricsSink(tmp_path) as sink:
            controller = Controller(cfg, handles, pipeline, Telemetry(sink, 2, 16), ControllerState())
            controller.run(RunProgress(2, 0, enabled=False))
        learner = handles.learners.digest()
        generators = ray.get([g.digest.remote() for g in handles.generators])
        versions = ray.get([g.stats.remote() for g in handles.generators])
    assert learner != before  # training moved the weights ...
    assert generators == [learner, learner]  # ... and both generators hold exactly the learner's bits
    assert [v["version"] for v in versions] == [2, 2]


@pytest.mark.parametrize("max_staleness", [0, 1])
def test_staleness_bound_and_exactly_once_accounting(ray_cluster, warm_policy, tmp_path, max_staleness):
    cfg = e2e_config(warm_policy, runtime={"max_staleness": max_staleness,
                                           "total_steps": 5})
    result = run_training(cfg, tmp_path)
    metrics = read_metrics(tmp_path / "metrics.jsonl")
    steps = _rows_with(metrics, "loss")
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5]
    assert max(r["staleness/max"] for r in steps) <= max_staleness
    final = metrics[-1]
    assert final["buffer/lost"] == 0 and final["buffer/duplicated"] == 0 and final["buffer/pending"] == final["buffer/size"] * 2
    assert final["buffer/trained"] == 5 * 16 * 2  # every trained pair consumed exactly two samples
    assert final["buffer/admitted"] == (final["buffer/trained"] + final["buffer/evicted"] + final["buffer/dropped"]
                                        + final["buffer/pending"])
    for key in ("perf/gen_tokens_per_s", "perf/train_samples_per_s", "perf/generator_idle_fraction",
                "perf/learner_idle_fraction", "perf/weight_sync_seconds", "lambda/mean", "rewards/margins"):
        assert all(key in r for r in steps), key
    assert all(r["perf/buffer_seconds"] > 0 for r in steps)  # every step takes, commits and reads stats
    assert (tmp_path / "report.png").is_file() and result.steps == 5


def test_resume_reproduces_the_next_step_loss(ray_cluster, warm_policy, tmp_path):
    sync = {"max_staleness": 0}
    optim = {"schedule": "constant", "warmup_ratio": 0.0}
    straight = run_training(e2e_config(warm_policy, runtime={**sync, "total_steps": 3}, optim=optim),
                            tmp_path / "straight")
    run_training(e2e_config(warm_policy, runtime={**sync, "total_steps": 2}, optim=optim), tmp_path / "split")
    resumed = run_training(e2e_config(warm_policy, runtime={**sync, "total_steps": 3}, optim=optim),
                           tmp_path / "split", resume=str(tmp_path / "split"))
    loss = lambda out: [r["loss"] for r in read_metrics(out / "metrics.jsonl") if r.get("loss") is not None]  # noqa: E731
    assert len(loss(tmp_path / "straight")) == 3 and len(loss(tmp_path / "split")) == 3
    assert loss(tmp_path / "split")[:2] == pytest.approx(loss(tmp_path / "straight")[:2], abs=1e-6)
    assert loss(tmp_path / "split")[2] == pytest.approx(loss(tmp_path / "straight")[2], abs=1e-5)
    assert resumed.steps == straight.steps == 3


def test_online_dpo_raises_heldout_reward(ray_cluster, warm_policy, tmp_path):
    """The quickstart, shortened: held-out reward must rise well beyond seed noise (see the slow suite)."""
    cfg = e2e_config(warm_policy, runtime={"total_steps": 60}, eval={"interval": 30})
    result = run_training(cfg, tmp_path)
    evals = _rows_with(read_metrics(tmp_path / "metrics.jsonl"), "eval/reward_mean")
    assert [r["step"] for r in evals] == [0, 30, 60]
    assert result.reward_after > result.reward_before + 0.02, (result.reward_before, result.reward_after)
