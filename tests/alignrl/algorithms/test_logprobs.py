import torch

from alignrl.algorithms.logprobs import average_logps, response_loss_mask, sequence_logps, shifted_mask, token_logps


def test_token_logps_chunked_equals_full():
    logits = torch.randn(3, 9, 11)
    ids = torch.randint(0, 11, (3, 9))
    full = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(token_logps(logits, ids, chunk_size=2), full, atol=1e-6)


def test_response_mask_and_reductions():
    attention = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    mask = response_loss_mask(attention, torch.tensor([2, 3]))
    assert mask.tolist() == [[0, 0, 1, 1, 0], [0, 0, 0, 1, 1]]
    logp_tok = torch.tensor([[-1.0, -2.0, -3.0, -4.0], [-1.0, -1.0, -1.0, -0.5]])
    m = shifted_mask(mask)
    assert sequence_logps(logp_tok, m).tolist() == [-5.0, -1.5]
    assert average_logps(logp_tok, m).tolist() == [-2.5, -0.75]
