import pytest
import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.ipo import IPOParams, ipo_loss
from alignrl.algorithms.registry import get_algorithm

T = torch.tensor
W, L, RW, RL = T([-12.0, -20.0]), T([-15.0, -18.0]), T([-13.0, -19.0]), T([-14.0, -19.5])


def test_worked_example():
    out = ipo_loss(W, L, RW, RL, tau=0.1)
    assert out.per_example.tolist() == pytest.approx([9.0, 56.25], abs=1e-4)
    assert out.loss.item() == pytest.approx(32.6250, abs=1e-4)


def test_length_normalize_flag():
    n = T([2.0, 2.0])
    batch = PairBatch(W, L, RW, RL, chosen_tokens=n, rejected_tokens=n)
    plain = get_algorithm("ipo").loss(batch, IPOParams()).loss.item()
    normed = get_algorithm("ipo").loss(batch, IPOParams(ipo_length_normalize=True)).loss.item()
    assert plain == pytest.approx(32.625, abs=1e-4)
    assert normed == pytest.approx(((1.0 - 5) ** 2 + (-1.25 - 5) ** 2) / 2, abs=1e-4)
