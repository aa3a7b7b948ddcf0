"""The forward pass every data kind and the reference share: token ids in, log-probs and masks out (pure torch)."""

from __future__ import annotations

import torch

from alignrl.algorithms.logprobs import sequence_logps, shifted_mask, token_logps
from alignrl.data.encoding import pack_sequences


def forward_tokens(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int):
    """(logits, next-token log-probs [N, T-1], response mask [N, T-1], prompt mask [N, T-1], input ids)."""
    batch = pack_sequences(prompts, responses, pad_id)
    device = next(model.parameters()).device
    input_ids = batch.input_ids.to(device)
    attention = batch.attention_mask.to(device)
    logits = model(input_ids=input_ids, attention_mask=attention).logits
    mask = shifted_mask(batch.loss_mask.to(device))
    prompt_mask = shifted_mask(attention * (1 - batch.loss_mask.to(device)))
    return logits, token_logps(logits, input_ids), mask, prompt_mask, input_ids


def sequence_logprobs(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                      per_token: bool = False):
    """Sequence log-probs of each response given its prompt (and the per-token values on request)."""
    _, logp_tok, mask, _, _ = forward_tokens(model, prompts, responses, pad_id)
    seq = sequence_logps(logp_tok, mask)
    if not per_token:
        return seq
    return seq, [logp_tok[i][mask[i].bool()] for i in range(len(prompts))]


def prompt_logprobs(model, prompts: list[list[int]], pad_id: int) -> torch.Tensor:
    """log p(x_{>t0} | t0) of each prompt: the prompt's own likelihood after its first token (RAO)."""
    return sequence_logprobs(model, [p[:1] for p in prompts], [p[1:] for p in prompts], pad_id)


@torch.no_grad()
def batched_logprobs(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                     batch_size: int = 64) -> tuple[list[float], list[list[float]]]:
    """Frozen-model scoring in batches: (sequence log-probs, per-token log-probs) of each response."""
    seqs, toks = [], []
    for start in range(0, len(prompts), batch_size):
        seq, rows = sequence_logprobs(model, prompts[start: start + batch_size], responses[start: start + batch_size],
                                      pad_id, per_token=True)
        seqs.extend(seq.tolist())
        toks.extend(r.tolist() for r in rows)
    return seqs, toks
