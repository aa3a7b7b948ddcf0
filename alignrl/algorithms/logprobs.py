"""Masking and log-prob helpers shared by every loss (docs/algorithms.md §0)."""

from __future__ import annotations

import torch


def response_loss_mask(attention_mask: torch.Tensor, prompt_lengths: torch.Tensor) -> torch.Tensor:
    """1 on response tokens (EOS included), 0 on prompt/template tokens and padding.

    Rows are right-padded: row i holds prompt_lengths[i] prompt tokens, then the response.
    """
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).unsqueeze(0)
    return ((positions >= prompt_lengths.unsqueeze(1)) & attention_mask.bool()).to(attention_mask.dtype)


def token_logps(logits: torch.Tensor, input_ids: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """logp_tok [N, T-1] of each next token, computed in fp32, in chunks over T to bound memory."""
    targets = input_ids[:, 1:]
    steps = logits.shape[1] - 1
    out = []
    for start in range(0, steps, chunk_size):
        stop = min(start + chunk_size, steps)
        logp = torch.log_softmax(logits[:, start:stop].float(), dim=-1)
        out.append(logp.gather(-1, targets[:, start:stop].unsqueeze(-1)).squeeze(-1))
    return torch.cat(out, dim=1)


def shifted_mask(loss_mask: torch.Tensor) -> torch.Tensor:
    """Align a [N, T] loss mask with the [N, T-1] next-token log-probs."""
    return loss_mask[:, 1:].to(torch.float32)


def masked_sum(values: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """Sum of `values` where `mask` is set. Selects rather than multiplies: a NaN or inf at a masked
    position (padding, prompt) cannot turn the sum into NaN."""
    kept = torch.where(mask.bool(), values, torch.zeros((), dtype=values.dtype, device=values.device))
    return kept.sum() if dim is None else kept.sum(dim)


def sequence_logps(logp_tok: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of response-token log-probs: logp_seq [N]."""
    return masked_sum(logp_tok, mask, -1)


def average_logps(logp_tok: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Length-normalised log-prob: logp_seq / n_response_tokens."""
    return sequence_logps(logp_tok, mask) / mask.sum(-1).clamp(min=1)


def log_sum_sq_probs(logits: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """log sum_v p(v)^2 per position [N, T-1], the WPO normaliser, without gradient."""
    with torch.no_grad():
        steps = logits.shape[1] - 1
        out = []
        for start in range(0, steps, chunk_size):
            stop = min(start + chunk_size, steps)
            logp = torch.log_softmax(logits[:, start:stop].float(), dim=-1)
            out.append(torch.logsumexp(2 * logp, dim=-1))
        return torch.cat(out, dim=1)
