"""NaN-safe masking: NaN or inf at every masked position leaves every loss and gradient finite and unchanged."""

import pytest
import torch

from alignrl.algorithms.grpo import grpo_loss
from alignrl.algorithms.logprobs import average_logps, masked_sum, sequence_logps
from alignrl.algorithms.rao import prompt_logratio
from alignrl.algorithms.wpo import wpo_adjusted_logit

MASK = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float32)


def _poison(x: torch.Tensor, value: float) -> torch.Tensor:
    return torch.where(MASK.bool(), x, torch.full_like(x, value))


def _values(seed: int) -> torch.Tensor:
    return -torch.rand(MASK.shape, generator=torch.Generator().manual_seed(seed)) * 3


@pytest.mark.parametrize("garbage", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("aggregation", ["grpo", "bnpo", "dr_grpo"])
def test_grpo_loss_ignores_garbage_off_the_mask(garbage, aggregation):
    adv = torch.tensor([1.0, -0.5, 0.3])
    results = []
    for poison in (False, True):
        logp = _values(0).requires_grad_(True)
        inputs = [logp, _values(1), _values(2)]
        if poison:
            inputs = [_poison(x, garbage) for x in inputs]
        out = grpo_loss(inputs[0], inputs[1], inputs[2], MASK, adv, beta=0.04, aggregation=aggregation,
                        max_completion_length=5)
        out.loss.backward()
        results.append((out.loss.detach(), logp.grad.clone(), out.metrics))
    (clean, clean_grad, clean_m), (dirty, dirty_grad, dirty_m) = results
    assert torch.isfinite(dirty) and torch.equal(clean, dirty)
    assert torch.isfinite(dirty_grad).all() and torch.equal(clean_grad, dirty_grad)
    assert all(clean_m[k] == pytest.approx(dirty_m[k]) for k in clean_m if k != "ratio/max")


@pytest.mark.parametrize("garbage", [float("nan"), float("inf")])
def test_sequence_sums_ignore_garbage_off_the_mask(garbage):
    clean, dirty = _values(3), _poison(_values(3), garbage)
    assert torch.equal(sequence_logps(clean, MASK), sequence_logps(dirty, MASK))
    assert torch.equal(average_logps(clean, MASK), average_logps(dirty, MASK))
    assert torch.equal(masked_sum(clean, MASK), masked_sum(dirty, MASK))
    assert torch.equal(wpo_adjusted_logit(clean, _values(4), MASK), wpo_adjusted_logit(dirty, _poison(_values(4), garbage), MASK))
    prompt_mask = torch.cat([torch.ones(3, 1), MASK], dim=1)  # RAO's mask is one position wider
    assert torch.equal(prompt_logratio(clean, _values(5), prompt_mask), prompt_logratio(dirty, _values(5), prompt_mask))


def test_a_leaf_gradient_through_a_masked_sum_is_finite():
    x = _poison(_values(6), float("nan")).requires_grad_(True)
    masked_sum(x, MASK).backward()
    assert torch.isfinite(x.grad).all() and torch.equal(x.grad, MASK)
