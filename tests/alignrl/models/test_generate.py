import torch

from alignrl.algorithms.logprobs import shifted_mask, token_logps
from alignrl.data.encoding import encode_prompt, pack_sequences
from alignrl.models.generate import generate
from alignrl.models.tiny import load_model_dir


def test_behaviour_logprobs_match_teacher_forcing(tiny_model_dir):
    model, tok = load_model_dir(tiny_model_dir)
    prompts = [encode_prompt(tok, t) for t in ["sort:321", "add:12+7", "rev:98765"]]
    gens = generate(model, tok, prompts, max_new_tokens=6, temperature=1.0, seed=0)
    assert len(gens) == 3
    for g in gens:
        assert len(g.logprobs) == len(g.token_ids) <= 6
        assert g.finished == (g.token_ids[-1] == tok.eos_token_id)
    batch = pack_sequences(prompts, [g.token_ids for g in gens], tok.pad_token_id)
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    logp = token_logps(logits, batch.input_ids)
    mask = shifted_mask(batch.loss_mask)
    for i, g in enumerate(gens):
        teacher = logp[i][mask[i].bool()]
        assert torch.allclose(teacher, torch.tensor(g.logprobs), atol=1e-4)


def test_greedy_is_deterministic(tiny_model_dir):
    model, tok = load_model_dir(tiny_model_dir)
    prompts = [encode_prompt(tok, "sort:4321")]
    a = generate(model, tok, prompts, 5, temperature=0.0)
    b = generate(model, tok, prompts, 5, temperature=0.0)
    assert a[0].token_ids == b[0].token_ids
