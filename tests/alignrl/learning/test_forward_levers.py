"""Packing and chunked log-probs: the same loss and gradients as the padded, full-logits path (1e-5, fp32)."""

import random

import pytest
import torch

from alignrl.algorithms import get_algorithm
from alignrl.config import load_config_dict
from alignrl.kinds import get_kind
from alignrl.learning.forward import ForwardOptions, forward_tokens

PADDED = ForwardOptions(packing=False, chunk_tokens=None)
LEVERS = [ForwardOptions(packing=False, chunk_tokens=3), ForwardOptions(packing=True, chunk_tokens=None),
          ForwardOptions(packing=True, chunk_tokens=5)]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from alignrl.models.tiny import load_model_dir

    m, tok = load_model_dir(tiny_model_dir)
    return m.eval(), tok.pad_token_id  # eval: no dropout, so two forwards agree


def _seq(rng, lo, hi, first=None):
    ids = [rng.randrange(3, 60) for _ in range(rng.randrange(lo, hi))]
    return ([first] if first is not None else []) + ids


def _rows(kind: str, rng) -> list[dict]:
    """Rows of unequal prompt and response lengths for each data kind."""
    if kind == "pairwise":
        return [{"context_token_ids": _seq(rng, 2, 9, 1), "chosen_token_ids": _seq(rng, 1, 7) + [2],
                 "rejected_token_ids": _seq(rng, 1, 11) + [2], "ref_chosen": -20.0 + i, "ref_rejected": -22.0 + i,
                 "source": "on"} for i in range(3)]
    if kind == "group":
        rows = []
        for _ in range(2):
            responses = [_seq(rng, 1, 9) + [2] for _ in range(3)]
            rows.append({"context_token_ids": _seq(rng, 2, 9, 1), "response_token_ids": responses,
                         "behaviour_logprobs": [[-3.0] * len(r) for r in responses],
                         "ref_logprobs": [[-3.5] * len(r) for r in responses], "rewards": [1.0, 0.0, 0.5]})
        return rows
    if kind == "pointwise":
        return [{"context_token_ids": _seq(rng, 2, 9, 1), "response_token_ids": [_seq(rng, 1, 8) + [2] for _ in range(2)],
                 "rewards": [0.7, 0.1], "ref_logp_seq": [-15.0, -18.0], "ref_prompt_logp": -12.0} for _ in range(2)]
    return [{"context_token_ids": [_seq(rng, 2, 9, 1) for _ in range(2)],
             "response_token_ids": [_seq(rng, 1, 8) + [2] for _ in range(2)],
             "reward_cross": [1.0, 0.2, 0.1, 0.9], "ref_cross": [-12.0, -20.0, -19.0, -13.0]} for _ in range(2)]


CASES = {"dpo": {}, "wpo": {}, "grpo": {"aggregation": "bnpo"}, "rao": {}, "var": {"micro_batch": 2}}


def _loss_and_grads(m, pad, name, params, rows, options):
    spec = get_algorithm(name)
    m.zero_grad()
    batch = get_kind(spec.kind).forward(m, rows, pad, spec.forward_extras, options)
    loss = spec.loss(batch, params).loss
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("name", sorted(CASES))
def test_packing_and_chunking_match_the_padded_path(model, name):
    m, pad = model
    params = load_config_dict({"algorithm": {"name": name, **CASES[name]}}).algorithm
    rows = _rows(get_algorithm(name).kind, random.Random(name))
    base_loss, base_grads = _loss_and_grads(m, pad, name, params, rows, PADDED)
    assert base_grads, "the loss reached no parameter"
    for options in LEVERS:
        loss, grads = _loss_and_grads(m, pad, name, params, rows, options)
        assert loss == pytest.approx(base_loss, abs=1e-5), options
        worst = max((grads[k] - base_grads[k]).abs().max().item() for k in base_grads)
        assert worst < 1e-5, (options, worst)


def test_padded_log_probs_equal_each_sequence_scored_alone(model):
    m, pad = model
    rng = random.Random(3)
    prompts = [_seq(rng, 2, 9, 1) for _ in range(4)]
    responses = [_seq(rng, 1, 9) + [2] for _ in range(4)]
    with torch.no_grad():
        out = forward_tokens(m, prompts, responses, pad, ForwardOptions(packing=True, chunk_tokens=4))
        for i, (p, r) in enumerate(zip(prompts, responses)):
            ids = torch.tensor([p + r])
            alone = torch.log_softmax(m(input_ids=ids).logits[0, :-1].float(), -1).gather(
                -1, ids[0, 1:].unsqueeze(-1)).squeeze(-1)[len(p) - 1:]
            assert torch.allclose(out.logp_tok[i][out.mask[i].bool()], alone, atol=1e-5)


def test_chunks_bound_the_logits_and_packing_feeds_one_row(model):
    m, pad = model
    rng = random.Random(5)
    prompts = [_seq(rng, 4, 9, 1) for _ in range(3)]
    responses = [_seq(rng, 3, 9) + [2] for _ in range(3)]
    head_rows, decoder_calls = [], []
    hooks = [m.get_output_embeddings().register_forward_hook(lambda mod, i, o: head_rows.append(o.shape[0])),
             m.get_decoder().register_forward_pre_hook(
                 lambda mod, args, kwargs: decoder_calls.append((kwargs["input_ids"], kwargs["position_ids"])),
                 with_kwargs=True)]
    try:
        out = forward_tokens(m, prompts, responses, pad, ForwardOptions(packing=True, chunk_tokens=4))
        out.logp_tok.sum().backward()
    finally:
        for h in hooks:
            h.remove()
    # Only response positions are scored, 4 at a time (recomputed once more in the backward).
    assert max(head_rows) <= 4 and sum(head_rows) == 2 * sum(len(r) for r in responses)
    (ids, positions), = decoder_calls
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses)]
    assert ids.shape == (1, sum(lengths))
    assert positions[0].tolist() == [t for n in lengths for t in range(n)]
