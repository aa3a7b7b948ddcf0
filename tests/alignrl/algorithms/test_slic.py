import pytest
import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.registry import get_algorithm
from alignrl.algorithms.slic import SLiCParams, slic_hinge_loss, slic_loss

T = torch.tensor
W, L, RW, RL = T([-12.0, -20.0]), T([-15.0, -18.0]), T([-13.0, -19.0]), T([-14.0, -19.5])


def test_worked_example():
    out = slic_loss(W, L, T([-10.0, -25.0]), delta=1.0, lam_reg=0.5)
    assert out.per_example.tolist() == pytest.approx([5.0, 15.5], abs=1e-4)
    assert out.loss.item() == pytest.approx(10.25, abs=1e-4)
    assert out.metrics["slic/calibration"] == pytest.approx(1.5)
    assert out.metrics["slic/regulariser"] == pytest.approx(8.75)


def test_trl_hinge():
    out = slic_hinge_loss(W, L, RW, RL, beta=0.1)
    assert out.per_example.tolist() == pytest.approx([0.8, 1.25], abs=1e-4)


def test_regulariser_defaults_to_chosen():
    out = get_algorithm("slic").loss(PairBatch(W, L), SLiCParams())
    expected = slic_loss(W, L, W, 1.0, 0.5).loss.item()
    assert out.loss.item() == pytest.approx(expected)
