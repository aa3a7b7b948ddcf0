"""Train/inference mismatch weights (TIS and its masked and sequence-level forms) and their use in GRPO."""

import math

import pytest
import torch

from alignrl.algorithms.batches import GroupBatch
from alignrl.algorithms.grpo import GRPOParams, group_advantages, grpo_loss
from alignrl.algorithms.mismatch import behaviour_weights
from alignrl.algorithms.registry import get_algorithm

# Two completions: log(pi_prox / pi_behaviour) per token; the last token of the second row is padding.
PROX = torch.tensor([[-1.0, -0.5, -2.0], [-0.2, -3.0, 0.0]])
BEHAV = torch.tensor([[-1.5, -0.5, -0.4], [-0.3, -1.5, float("nan")]])  # NaN where the mask is off
MASK = torch.tensor([[1.0, 1, 1], [1, 1, 0]])
LOG_RATIO = [[0.5, 0.0, -1.6], [0.1, -1.5]]


def _ratios(row):
    return [math.exp(x) for x in LOG_RATIO[row]]


def test_token_truncate_clips_each_token_at_the_cap():
    out = behaviour_weights(PROX, BEHAV, MASK, "token_truncate", cap=1.5)
    expected = [[min(r, 1.5) for r in _ratios(0)], [*[min(r, 1.5) for r in _ratios(1)], 1.0]]
    assert torch.allclose(out.weights, torch.tensor(expected), rtol=1e-6)
    assert out.metrics["mismatch/clipped_fraction"] == pytest.approx(1 / 5)  # exp(0.5) = 1.65 > 1.5
    assert out.metrics["mismatch/ratio_max"] == pytest.approx(math.exp(0.5), rel=1e-6)
    # The cap is the field that decides: past the largest ratio nothing is clipped.
    assert behaviour_weights(PROX, BEHAV, MASK, "token_truncate", cap=3.0).metrics["mismatch/clipped_fraction"] == 0


def test_token_mask_zeroes_the_tokens_over_the_cap():
    out = behaviour_weights(PROX, BEHAV, MASK, "token_mask", cap=1.5)
    assert out.weights[0].tolist() == pytest.approx([0.0, 1.0, math.exp(-1.6)], rel=1e-6)


def test_sequence_modes_weigh_a_completion_by_the_product_of_its_ratios():
    seq = [math.exp(sum(LOG_RATIO[0])), math.exp(sum(LOG_RATIO[1]))]  # 0.332, 0.247
    truncated = behaviour_weights(PROX, BEHAV, MASK, "sequence_truncate", cap=0.3)
    assert truncated.weights.shape == (2, 1)
    assert truncated.weights.squeeze(1).tolist() == pytest.approx([0.3, seq[1]], rel=1e-6)
    masked = behaviour_weights(PROX, BEHAV, MASK, "sequence_mask", cap=0.3)
    assert masked.weights.squeeze(1).tolist() == pytest.approx([0.0, seq[1]], rel=1e-6)
    assert masked.metrics["mismatch/clipped_fraction"] == pytest.approx(0.5)


def test_kl_is_zero_without_mismatch_and_positive_with_it():
    same = behaviour_weights(PROX, PROX, MASK, "token_truncate", cap=3.0)
    assert same.metrics["mismatch/kl"] == pytest.approx(0.0, abs=1e-7)
    assert same.weights.tolist() == [[1.0] * 3] * 2
    k3 = sum(math.exp(x) - 1 - x for row in LOG_RATIO for x in row) / 5
    assert behaviour_weights(PROX, BEHAV, MASK, "token_truncate", 3.0).metrics["mismatch/kl"] == pytest.approx(k3)


def test_non_finite_behaviour_log_probs_never_reach_a_weight():
    behav = BEHAV.clone()
    behav[0, 2] = float("-inf")  # a backend that returned -inf for a sampled token
    out = behaviour_weights(PROX, behav, MASK, "token_truncate", cap=3.0)
    assert out.weights.isfinite().all() and out.weights[0, 2] == 1.0
    assert all(math.isfinite(v) for v in out.metrics.values())


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="unknown mismatch correction 'token'"):
        behaviour_weights(PROX, BEHAV, MASK, "token", 3.0)


def test_grpo_gradient_is_the_weighted_policy_gradient():
    """With correction on, one update per batch: d loss / d logp = -A * w / |o| per token (grpo aggregation)."""
    rewards = torch.tensor([1.0, 0.0])
    logp = PROX.clone().requires_grad_(True)
    batch = GroupBatch(logp, BEHAV, None, MASK, rewards, group_size=2)
    params = GRPOParams(group_size=2, beta=0.0, mismatch_cap=1.5)
    out = get_algorithm("grpo").loss(batch, params)
    out.loss.backward()
    adv = group_advantages(rewards, 2)
    weights = behaviour_weights(PROX, BEHAV, MASK, "token_truncate", 1.5).weights
    lengths = MASK.sum(1, keepdim=True)
    expected = (-adv.unsqueeze(1) * weights / lengths * MASK) / 2
    assert torch.allclose(logp.grad, expected, atol=1e-6)
    assert out.metrics["mismatch/clipped_fraction"] == pytest.approx(1 / 5)
    assert out.metrics["clip_fraction"] == 0.0  # the ratio is against the proximal policy: 1 at the update


def test_correction_none_keeps_the_ratio_against_the_behaviour_log_probs():
    rewards = torch.tensor([1.0, 0.0])
    behav = torch.where(MASK.bool(), BEHAV, torch.zeros(()))
    batch = GroupBatch(PROX, behav, None, MASK, rewards, group_size=2)
    out = get_algorithm("grpo").loss(batch, GRPOParams(group_size=2, beta=0.0, mismatch_correction="none"))
    direct = grpo_loss(PROX, behav, None, MASK, group_advantages(rewards, 2), 0.2, 0.0)
    assert out.loss.item() == pytest.approx(direct.loss.item(), abs=1e-7)
    assert not any(key.startswith("mismatch/") for key in out.metrics)
