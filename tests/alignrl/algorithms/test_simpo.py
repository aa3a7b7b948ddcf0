import pytest
import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.registry import get_algorithm
from alignrl.algorithms.simpo import SimPOParams, simpo_loss


def test_worked_example():
    out = simpo_loss(torch.tensor([-0.8, -1.2]), torch.tensor([-1.5, -1.1]), beta=10, gamma=3)
    assert out.per_example.tolist() == pytest.approx([0.0182, 4.0182], abs=1e-4)
    assert out.loss.item() == pytest.approx(2.0181, abs=1e-4)
    assert out.metrics["lambda/mean"] == pytest.approx((0.0180 + 0.9820) / 2, abs=1e-4)


def test_registered_loss_length_normalises():
    batch = PairBatch(torch.tensor([-40.0, -120.0]), torch.tensor([-90.0, -55.0]),
                      chosen_tokens=torch.tensor([50, 100]), rejected_tokens=torch.tensor([60, 50]))
    out = get_algorithm("simpo").loss(batch, SimPOParams())
    assert out.loss.item() == pytest.approx(2.0181, abs=1e-4)
