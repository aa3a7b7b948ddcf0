import pytest
import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.dpo import DPOParams, dpo_loss
from alignrl.algorithms.registry import get_algorithm

T = torch.tensor
W, L, RW, RL = T([-12.0, -20.0]), T([-15.0, -18.0]), T([-13.0, -19.0]), T([-14.0, -19.5])


def test_worked_example():
    out = dpo_loss(W, L, RW, RL, beta=0.1)
    assert out.loss.item() == pytest.approx(0.7120, abs=1e-4)
    assert out.per_example.tolist() == pytest.approx([0.5981, 0.8259], abs=1e-4)
    m = out.metrics
    assert m["rewards/chosen"] == pytest.approx((0.1 - 0.1) / 2, abs=1e-4)
    assert m["rewards/rejected"] == pytest.approx((-0.1 + 0.15) / 2, abs=1e-4)
    assert m["rewards/margins"] == pytest.approx((0.2 - 0.25) / 2, abs=1e-4)
    assert m["rewards/accuracy"] == pytest.approx(0.5)
    assert m["lambda/mean"] == pytest.approx((0.4502 + 0.5622) / 2, abs=1e-4)
    assert m["D_pi"] == pytest.approx(0.5) and m["D_ref"] == pytest.approx(0.75)


def test_lambda_is_minus_gradient_over_beta():
    d_pi = T([3.0, -2.0], requires_grad=True)
    beta = 0.1
    loss = dpo_loss(d_pi, torch.zeros(2), RW, RL, beta).per_example.sum()
    loss.backward()
    lam = torch.sigmoid(beta * ((RW - RL) - d_pi.detach()))
    assert (-d_pi.grad).tolist() == pytest.approx((beta * lam).tolist(), abs=1e-6)


def test_gradient_sign_raises_chosen_and_lowers_rejected():
    w, l = W.clone().requires_grad_(), L.clone().requires_grad_()
    dpo_loss(w, l, RW, RL, 0.1).loss.backward()
    assert (w.grad < 0).all() and (l.grad > 0).all()  # descent raises logp_w, lowers logp_l


def test_diagnostics_split_by_source():
    m = dpo_loss(W, L, RW, RL, 0.1, sources=["on", "off"]).metrics
    assert m["on/rewards/margins"] == pytest.approx(0.2, abs=1e-4)
    assert m["off/rewards/margins"] == pytest.approx(-0.25, abs=1e-4)
    assert m["on/loss"] == pytest.approx(0.5981, abs=1e-4)
    assert m["off/lambda/median"] == pytest.approx(0.5622, abs=1e-4)
    assert sum(m[f"lambda/hist_{i:02d}"] for i in range(10)) == 2


def test_registered_loss_needs_reference():
    spec = get_algorithm("dpo")
    with pytest.raises(ValueError, match="reference"):
        spec.loss(PairBatch(W, L), DPOParams())
    out = spec.loss(PairBatch(W, L, RW, RL), DPOParams())
    assert out.loss.item() == pytest.approx(0.7120, abs=1e-4)
