import pytest
import torch

from alignrl.algorithms.logprobs import log_sum_sq_probs, token_logps
from alignrl.algorithms.wpo import wpo_adjusted_logit, wpo_loss

T = torch.tensor


def test_worked_example():
    adj_w = wpo_adjusted_logit(T([[-0.5, -1.0, -0.2]]), T([[-0.7, -1.2, -0.38]]), T([[1.0, 1.0, 1.0]]))
    adj_l = wpo_adjusted_logit(T([[-2.0, -1.5, 0.0]]), T([[-0.9, -1.0, 0.0]]), T([[1.0, 1.0, 0.0]]))
    assert adj_w.item() == pytest.approx(0.193333, abs=1e-5)
    assert adj_l.item() == pytest.approx(-0.8, abs=1e-5)
    out = wpo_loss(T([-1.7]), T([-3.5]), T([-2.0]), T([-3.0]), adj_w, adj_l, beta=0.03)
    assert out.metrics["wpo/weight_mean"] == pytest.approx(0.5452, abs=1e-4)
    assert out.loss.item() == pytest.approx(0.3714, abs=1e-4)


def test_weight_is_clamped_and_detached():
    w = T([-1.7], requires_grad=True)
    adj = T([5.0], requires_grad=True)
    out = wpo_loss(w, T([-3.5]), T([-2.0]), T([-3.0]), adj, adj, beta=0.03)
    assert out.metrics["wpo/weight_mean"] == 1.0
    out.loss.backward()
    assert adj.grad is None and w.grad is not None


def test_log_sum_sq_from_logits():
    logits = torch.randn(2, 4, 7)
    ids = torch.randint(0, 7, (2, 4))
    lss = log_sum_sq_probs(logits)
    p = torch.softmax(logits[:, :-1], -1)
    assert torch.allclose(lss, torch.log((p ** 2).sum(-1)), atol=1e-5)
    assert token_logps(logits, ids).shape == (2, 3)
