import pytest
import torch

from alignrl.algorithms.batches import GroupBatch
from alignrl.algorithms.grpo import DrGRPOParams, GRPOParams, group_advantages, grpo_loss
from alignrl.algorithms.registry import get_algorithm

NAN = 0.0
LOGP = torch.tensor([[-0.9, -1.2, NAN], [-0.5, -2.0, -0.7], [-0.3, NAN, NAN]])
OLD = torch.tensor([[-1.0, -1.0, NAN], [-0.6, -1.7, -0.7], [-0.3, NAN, NAN]])
REF = torch.tensor([[-1.1, -0.9, NAN], [-0.4, -1.9, -1.0], [-0.2, NAN, NAN]])
MASK = torch.tensor([[1.0, 1, 0], [1, 1, 1], [1, 0, 0]])
REWARDS = torch.tensor([1.0, 0.0, 0.5])


def test_advantages():
    assert group_advantages(REWARDS, 3).tolist() == pytest.approx([1.0, -1.0, 0.0], abs=1e-4)
    assert group_advantages(REWARDS, 3, scale=False).tolist() == pytest.approx([0.5, -0.5, 0.0])
    with pytest.raises(ValueError):
        group_advantages(REWARDS, 2)


def test_worked_example_grpo_and_bnpo():
    adv = group_advantages(REWARDS, 3)
    grpo = grpo_loss(LOGP, OLD, REF, MASK, adv, 0.2, 0.04, "grpo")
    bnpo = grpo_loss(LOGP, OLD, REF, MASK, adv, 0.2, 0.04, "bnpo")
    assert grpo.loss.item() == pytest.approx(0.0029, abs=1e-4)
    assert bnpo.loss.item() == pytest.approx(0.1644, abs=1e-4)
    assert grpo.metrics["kl/k3"] == pytest.approx(0.0188, abs=1e-4)
    assert grpo.metrics["clip_fraction"] == pytest.approx(1 / 6, abs=1e-4)


def test_worked_example_dr_grpo():
    adv = group_advantages(REWARDS, 3, scale=False)
    assert grpo_loss(LOGP, OLD, REF, MASK, adv, 0.2, 0.0, "dr_grpo", 4).loss.item() == pytest.approx(0.0409, abs=1e-4)
    assert grpo_loss(LOGP, OLD, REF, MASK, adv, 0.2, 0.04, "dr_grpo", 4).loss.item() == pytest.approx(0.0413, abs=1e-4)


def test_registered_variants():
    batch = GroupBatch(LOGP, OLD, REF, MASK, REWARDS, group_size=3)
    coupled = {"mismatch_correction": "none"}  # the ratio against the behaviour log-probs, as the worked example
    assert get_algorithm("grpo").loss(batch, GRPOParams(**coupled)).loss.item() == pytest.approx(0.0029, abs=1e-4)
    dr = get_algorithm("dr_grpo").loss(batch, DrGRPOParams(max_completion_length=4, **coupled))
    assert dr.loss.item() == pytest.approx(0.0409, abs=1e-4)
    assert dr.metrics["reward/zero_std_groups"] == 0.0


def test_clip_blocks_gradient_outside_range():
    # A < 0 and rho < 1 - eps: the clipped branch is the minimum, so the token gives no surrogate gradient.
    logp = torch.tensor([[-2.0]], requires_grad=True)
    out = grpo_loss(logp, torch.tensor([[-1.7]]), None, torch.ones(1, 1), torch.tensor([-1.0]), 0.2, 0.0)
    out.loss.backward()
    assert logp.grad.abs().item() == 0.0
    # Inside the range the gradient flows, and descent lowers the log-prob of a negative-advantage token.
    logp2 = torch.tensor([[-1.75]], requires_grad=True)
    grpo_loss(logp2, torch.tensor([[-1.7]]), None, torch.ones(1, 1), torch.tensor([-1.0]), 0.2, 0.0).loss.backward()
    assert logp2.grad.item() > 0


def test_k3_kl_nonnegative():
    from alignrl.algorithms.grpo import k3_kl
    x = torch.randn(100) * 5
    assert (k3_kl(x, torch.randn(100) * 5) >= 0).all()
    assert k3_kl(torch.tensor([0.0]), torch.tensor([100.0])).isfinite().all()
