import math

import pytest
import torch

from alignrl.algorithms.batches import PointBatch
from alignrl.algorithms.rao import RAOParams, check_shared_first_token, prompt_logratio, rao_loss
from alignrl.algorithms.registry import get_algorithm

DIFF = torch.tensor([2.0, -3.0, 1.0])  # policy minus reference, per response
REWARDS = torch.tensor([6.0, 3.5, 4.0])
INDEX = torch.tensor([0, 0, 1])
P = torch.tensor([0.4, -0.2])


def test_worked_example():
    out = rao_loss(DIFF, torch.zeros(3), REWARDS, INDEX, P, beta=0.1, log_z0=50.0)
    assert out.loss.item() == pytest.approx(1.1120, abs=1e-4)


def test_linear_z0():
    params = RAOParams(z0_space="linear")
    assert params.log_z0 == pytest.approx(math.log(50))
    out = get_algorithm("rao").loss(PointBatch(DIFF, torch.zeros(3), REWARDS, INDEX, P), params)
    assert out.loss.item() == pytest.approx(16.2694, abs=1e-4)
    with pytest.raises(ValueError, match="z0 > 0"):
        RAOParams(z0_space="linear", z0=-1.0)


def test_gradient_only_through_response_logp():
    policy = DIFF.clone().requires_grad_()
    p = P.clone().requires_grad_()
    rao_loss(policy, torch.zeros(3), REWARDS, INDEX, p, 0.1, 50.0).loss.backward()
    assert p.grad is None and policy.grad is not None
    # Prompt A: residuals r - rhat = [0.76, -1.24]; dL/dlogp = -2 * beta * resid / n_i / n_prompts.
    assert policy.grad[0].item() == pytest.approx(-2 * 0.1 * 0.76 / 2 / 2, abs=1e-5)


def test_prompt_logratio_skips_t0_and_response():
    policy_tok = torch.tensor([[0.5, 0.2, 9.0]])
    ref_tok = torch.tensor([[0.1, 0.1, 0.0]])
    prompt_mask = torch.tensor([[1, 1, 1, 0]])  # t0 + 2 prompt tokens, then 1 response token
    assert prompt_logratio(policy_tok, ref_tok, prompt_mask).item() == pytest.approx(0.5)


def test_shared_first_token():
    assert check_shared_first_token(torch.tensor([[1, 5], [1, 7]])) == 1
    with pytest.raises(ValueError, match="same token"):
        check_shared_first_token(torch.tensor([[1, 5], [2, 7]]))
