import pytest
import torch

from alignrl.algorithms.batches import WeightedSFTBatch
from alignrl.algorithms.registry import get_algorithm
from alignrl.algorithms.var import VARParams, ref_sample_weights, var_loss, var_weights

REF = torch.tensor([[-10.0, -12, -11], [-13, -9, -10], [-12, -11, -14]])
R = torch.tensor([[1.0, 0.5, 2.0], [0.0, 1.5, 0.2], [-1.0, 0.0, 0.5]])
POLICY = torch.tensor([-9.5, -8.0, -13.0])


def test_worked_example_cross_pair():
    w, log_z = var_weights(REF, R, 1.0)
    assert log_z.tolist() == pytest.approx([-8.2666, -7.4007, -10.8033], abs=1e-4)
    assert w.tolist() == pytest.approx([0.4803, 0.9055, 0.0674], abs=1e-4)
    assert var_loss(POLICY, w).loss.item() == pytest.approx(4.2278, abs=1e-4)
    assert var_loss(POLICY, w, "sum").loss.item() == pytest.approx(12.6834, abs=1e-4)


def test_worked_example_diagonal_shared():
    w, _ = var_weights(REF, R, 1.0, "diagonal_shared")
    assert w.tolist() == pytest.approx([0.1821, 0.8159, 0.0020], abs=1e-4)
    assert var_loss(POLICY, w).loss.item() == pytest.approx(2.7611, abs=1e-4)


def test_weights_detached_and_gradient_is_weighted_sft():
    ref, rew = REF.clone().requires_grad_(), R.clone().requires_grad_()
    w, _ = var_weights(ref, rew, 1.0)
    policy = POLICY.clone().requires_grad_()
    get_algorithm("var").loss(WeightedSFTBatch(policy, ref, rew), VARParams()).loss.backward()
    assert not w.requires_grad
    assert policy.grad.tolist() == pytest.approx((-w / 3).tolist(), abs=1e-6)


def test_ref_samples_mode():
    w = ref_sample_weights(torch.tensor([1.0]), torch.tensor([[0.0, 2.0]]), 1.0)
    assert w.item() == pytest.approx(torch.e / ((1 + torch.e ** 2) / 2), abs=1e-5)


def test_ref_logp_reduction_mean_divides_each_column_by_its_response_length():
    lengths = torch.tensor([2.0, 4.0, 5.0])  # len(y_j)
    batch = WeightedSFTBatch(POLICY.view(1, 3), REF.view(1, 3, 3), R.view(1, 3, 3), lengths.view(1, 3))
    mean = get_algorithm("var").loss(batch, VARParams(ref_logp_reduction="mean"))
    summed = get_algorithm("var").loss(batch, VARParams())
    w_mean, _ = var_weights(REF / lengths.view(1, 3), R, 1.0)
    assert mean.metrics["var/w_mean"] == pytest.approx(w_mean.mean().item(), abs=1e-6)
    assert mean.metrics["var/w_mean"] != pytest.approx(summed.metrics["var/w_mean"], abs=1e-3)
