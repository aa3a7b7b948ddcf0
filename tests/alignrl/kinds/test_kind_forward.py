"""The learner's forward passes: every kind's batch agrees with direct per-sequence computations."""

import pytest
import torch

from alignrl.algorithms import get_algorithm
from alignrl.config import load_config_dict
from alignrl.algorithms.wpo import wpo_extras
from alignrl.kinds.group import group_batch
from alignrl.kinds.pairwise import pair_batch
from alignrl.kinds.pointwise import point_batch
from alignrl.kinds.weighted_sft import block_batch
from alignrl.learning.forward import prompt_logprobs, sequence_logprobs


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from alignrl.models.tiny import load_model_dir

    m, tok = load_model_dir(tiny_model_dir)
    return m.eval(), tok.pad_token_id


CTX = [[1, 5, 6, 7], [1, 8, 9]]
RESP = [[10, 11, 2], [12, 2]]


def test_group_batch_aligns_per_token_logprobs(model):
    m, pad = model
    rows = [{"context_token_ids": CTX[0], "response_token_ids": RESP, "behaviour_logprobs": [[-1, -1, -1], [-2, -2]],
             "ref_logprobs": [[-0.5] * 3, [-0.5] * 2], "rewards": [1.0, 0.0]}]
    batch = group_batch(m, rows, pad)
    _, per_token = sequence_logprobs(m, [CTX[0], CTX[0]], RESP, pad, per_token=True)
    assert batch.logp.shape == (2, 3) and batch.group_size == 2
    assert torch.allclose(batch.logp[1, :2], per_token[1]) and batch.mask[1].tolist() == [1, 1, 0]
    assert batch.old_logp[1].tolist() == [-2, -2, 0]
    out = get_algorithm("grpo").loss(batch, load_config_dict({"algorithm": {"name": "grpo"}}).algorithm)
    assert torch.isfinite(out.loss) and 0.0 <= out.metrics["clip_fraction"] <= 1.0


def test_point_batch_prompt_logratio_is_zero_against_itself(model):
    m, pad = model
    with torch.no_grad():
        ref_prompt = prompt_logprobs(m, CTX, pad)
        ref_seq = sequence_logprobs(m, [CTX[0], CTX[0], CTX[1]], [RESP[0], RESP[1], RESP[1]], pad)
    rows = [{"context_token_ids": CTX[0], "response_token_ids": RESP, "rewards": [1.0, 0.0],
             "ref_logp_seq": ref_seq[:2].tolist(), "ref_prompt_logp": ref_prompt[0].item()},
            {"context_token_ids": CTX[1], "response_token_ids": [RESP[1]], "rewards": [0.5],
             "ref_logp_seq": ref_seq[2:].tolist(), "ref_prompt_logp": ref_prompt[1].item()}]
    batch = point_batch(m, rows, pad)
    assert batch.prompt_index.tolist() == [0, 0, 1]
    assert torch.allclose(batch.prompt_logratio, torch.zeros(2), atol=1e-5)
    assert torch.allclose(batch.policy_logp, batch.ref_logp, atol=1e-5)


def test_point_batch_rejects_prompts_without_a_shared_first_token(model):
    m, pad = model
    rows = [{"context_token_ids": c, "response_token_ids": [RESP[1]], "rewards": [0.0], "ref_logp_seq": [0.0],
             "ref_prompt_logp": 0.0} for c in ([1, 5], [3, 5])]
    with pytest.raises(ValueError, match="same token t0"):
        point_batch(m, rows, pad)


def test_block_batch_shapes_and_var_weights(model):
    m, pad = model
    row = {"context_token_ids": CTX, "response_token_ids": RESP, "reward_cross": [1.0, 0.0, 0.0, 1.0],
           "ref_cross": [-3.0, -9.0, -9.0, -3.0]}
    batch = block_batch(m, [row, row], pad)
    assert batch.policy_logp.shape == (2, 2) and batch.ref_cross.shape == (2, 2, 2)
    out = get_algorithm("var").loss(batch, load_config_dict({"algorithm": {"name": "var", "micro_batch": 2}}).algorithm)
    assert 0.99 < out.metrics["var/w_mean"] <= 1.0  # diagonal-dominant blocks: w close to 1
    assert out.loss.item() == pytest.approx(-batch.policy_logp.mean().item() * out.metrics["var/w_mean"], rel=1e-2)


def test_pair_batch_computes_forward_extras_only_when_asked(model):
    m, pad = model
    rows = [{"context_token_ids": CTX[0], "chosen_token_ids": RESP[0], "rejected_token_ids": RESP[1],
             "ref_chosen": -5.0, "ref_rejected": -5.0, "source": "off"}]
    wpo = load_config_dict({"algorithm": {"name": "wpo"}}).algorithm
    assert pair_batch(m, rows, pad).extras == {}
    assert get_algorithm("wpo").forward_extras is wpo_extras
    batch = pair_batch(m, rows, pad, wpo_extras)
    chosen, rejected = batch.extras["wpo_logit"]
    assert chosen.shape == rejected.shape == (1,) and not chosen.requires_grad
    assert torch.isfinite(get_algorithm("wpo").loss(batch, wpo).loss)
