"""LearnerGroup on a real local Ray cluster: 2 gloo ranks, DeepSpeed, the tiny policy."""

import pytest
import ray

from alignrl.transport.buckets import unpack_buckets
from alignrl.learners.group import LearnerError, LearnerGroup
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu


def _rows(n=16):
    # Distinct pairs so that sharding and micro-batching really change which rows meet in a batch.
    return [dict(example_id=str(i), context_token_ids=[1, 5, 35, 31, 34, 36, 84, 12 + i % 8, 6],
                 chosen_token_ids=[8 + i % 5, 9, 2], rejected_token_ids=[9, 8 + i % 3, 10, 2],
                 ref_chosen=-2.0 - 0.1 * i, ref_rejected=-3.0 + 0.05 * i, source="on") for i in range(n)]


def _weights_after_one_step(cfg, policy_dir) -> tuple[dict, dict]:
    group = LearnerGroup([{"CPU": 1.0}] * 2, 120)
    try:
        group.setup(cfg.model_dump(mode="json", by_alias=True), str(policy_dir), 1)
        metrics = group.finish_step(group.train_step_async(_rows()))
        _, buckets = group.prepare_weights("object_store", 64, 0)
        return unpack_buckets(ray.get(buckets)), metrics
    finally:
        group.shutdown()


def test_gradient_accumulation_reproduces_the_global_mean(ray_cluster, warm_policy):
    """One step on 16 pairs: 2 ranks x 1 micro-batch of 8 == 2 ranks x 2 micro-batches of 4."""
    whole, m_whole = _weights_after_one_step(
        e2e_config(warm_policy, algorithm={"name": "dpo"}, runtime={"train_batch_size": 16, "micro_batch_size": 8}),
        warm_policy)
    split, m_split = _weights_after_one_step(
        e2e_config(warm_policy, algorithm={"name": "dpo"}, runtime={"train_batch_size": 16, "micro_batch_size": 4}),
        warm_policy)
    assert m_whole["loss"] == pytest.approx(m_split["loss"], abs=1e-6)
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
