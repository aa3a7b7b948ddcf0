"""LearnerGroup on a real local Ray cluster: 2 gloo ranks, DeepSpeed, the tiny policy."""

import pytest
import ray

from alignrl.transport.buckets import unpack_buckets
from alignrl.learners.group import LearnerError, LearnerGroup
from tests.conftest import E2E_OVERRIDES, e2e_config

pytestmark = pytest.mark.cpu


def _rows(n=16):
    # Distinct pairs so that sharding and micro-batching really change which rows meet in a batch.
    return [dict(example_id=str(i), context_token_ids=[1, 5, 35, 31, 34, 36, 84, 12 + i % 8, 6],
                 chosen_token_ids=[8 + i % 5, 9, 2], rejected_token_ids=[9, 8 + i % 3, 10, 2],
                 ref_chosen=-2.0 - 0.1 * i, ref_rejected=-3.0 + 0.05 * i, source="on") for i in range(n)]


def _groups(n=8):
    # Responses of 1 to 11 tokens, so micro-batches and ranks hold unequal token counts.
    return [dict(example_id=f"g{i}", context_token_ids=[1, 5, 35, 31, 34, 12 + i % 8, 6],
                 response_token_ids=[[8 + i % 5] * (1 + (3 * i) % 11) + [2], [9, 2]],
                 behaviour_logprobs=[[-3.0] * (2 + (3 * i) % 11), [-3.0, -3.0]],
                 ref_logprobs=[[-3.5] * (2 + (3 * i) % 11), [-3.5, -3.5]], rewards=[1.0, 0.0]) for i in range(n)]


def _weights_after_one_step(cfg, policy_dir, rows=None, ranks=2) -> tuple[dict, dict]:
    group = LearnerGroup([{"CPU": 1.0}] * ranks, 120)
    try:
        group.setup(cfg.model_dump(mode="json", by_alias=True), str(policy_dir), 1)
        metrics = group.finish_step(group.train_step_async(rows or _rows()))
        _, buckets = group.prepare_weights("object_store", 64, 0)
        return unpack_buckets(ray.get(buckets)), metrics
    finally:
        group.shutdown()


def test_gradient_accumulation_reproduces_the_global_mean(ray_cluster, warm_policy):
    """One step on 16 pairs: 2 ranks x 1 micro-batch of 8 == 2 ranks x 2 micro-batches of 4."""
    runs = [_weights_after_one_step(
        e2e_config(warm_policy, algorithm={"name": "dpo"}, runtime={"train_batch_size": 16, "micro_batch_size": micro},
                   optim={"lr": 1e-5, "warmup_ratio": 0.0}),  # Adam's first step ~ lr * sign(g): keep it small
        warm_policy) for micro in (8, 4)]
    (whole, m_whole), (split, m_split) = runs
    assert m_whole["loss"] == pytest.approx(m_split["loss"], abs=1e-6)
    assert m_whole["learner/grad_norm"] > 0
    assert m_whole["learner/grad_norm"] == pytest.approx(m_split["learner/grad_norm"], rel=1e-5)
    worst = max((whole[k] - split[k]).abs().max().item() for k in whole)
    assert worst < 1e-6, worst


@pytest.mark.parametrize("algorithm", [{"name": "grpo", "aggregation": "grpo"}, {"name": "grpo", "aggregation": "bnpo"},
                                       {"name": "dr_grpo"}])
def test_split_batches_keep_the_global_normaliser(ray_cluster, warm_policy, algorithm):
    """2 ranks x 2 micro-batches of unequal lengths == 1 rank x 1 micro-batch, for the sequence mean, the
    token mean (BNPO) and Dr. GRPO's constant: each micro-batch weighs its share of the whole batch."""
    algorithm = {**algorithm, "group_size": 2}
    runs = {}
    for ranks, micro in ((1, 8), (2, 2)):
        cfg = e2e_config(warm_policy, algorithm=algorithm,
                         resources={**E2E_OVERRIDES["resources"], "num_learners": ranks},
                         runtime={"train_batch_size": 8, "micro_batch_size": micro},
                         optim={"lr": 1e-5, "warmup_ratio": 0.0})  # Adam's first step ~ lr * sign(g): keep it small
        runs[ranks] = _weights_after_one_step(cfg, warm_policy, _groups(), ranks)
    (whole, m_whole), (split, m_split) = runs[1], runs[2]
    assert m_split["learner/micro_batches"] == 2 and m_whole["learner/micro_batches"] == 1
    assert m_whole["loss"] == pytest.approx(m_split["loss"], abs=1e-6)
    assert m_whole["learner/grad_norm"] > 0
    assert m_whole["learner/grad_norm"] == pytest.approx(m_split["learner/grad_norm"], rel=1e-5)
    worst = max((whole[k] - split[k]).abs().max().item() for k in whole)
    assert worst < 1e-6, worst


def test_unplaceable_layout_is_a_clear_error_within_its_bound(ray_cluster):
    with pytest.raises(LearnerError, match=r"cannot place 2 learner ranks .* within 3s"):
        LearnerGroup([{"CPU": 1000.0}] * 2, 3)


def test_wrong_batch_share_is_refused(ray_cluster, warm_policy):
    group = LearnerGroup([{"CPU": 1.0}] * 2, 120)
    try:
        group.setup(e2e_config(warm_policy).model_dump(mode="json", by_alias=True), str(warm_policy), 1)
        with pytest.raises(ValueError, match="do not split evenly"):
            group.train_step_async(_rows(15))
        with pytest.raises(LearnerError, match="got 6 examples, expected 8"):
            group.finish_step(group.train_step_async(_rows(12)))
    finally:
        group.shutdown()
