"""Batched sampling with transformers `generate`: token ids, text, behaviour log-probs, EOS flag."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Generation:
    token_ids: list[int]  # response tokens, EOS included when the model stopped
    text: str
    logprobs: list[float]  # behaviour log-probs of each response token under the raw logits
    finished: bool  # False when max_new_tokens cut the response


@torch.no_grad()
def generate(
    model,
    tokenizer,
    prompts: list[list[int]],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    batch_size: int = 64,
    seed: int | None = None,
) -> list[Generation]:
    """Sample one response per prompt (greedy when temperature is 0)."""
    if seed is not None:
        torch.manual_seed(seed)
    was_training = model.training
    model.eval()
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    out: list[Generation] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start: start + batch_size]
        width = max(len(p) for p in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(chunk):  # left padding keeps every prompt flush with the first new token
            ids[i, width - len(p):] = torch.tensor(p)
            mask[i, width - len(p):] = 1
        sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k or None) if temperature > 0 \
            else dict(do_sample=False)
        # use_cache: a learner's model turns the KV cache off for gradient checkpointing; sampling needs it.
        result = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=eos,
            return_dict_in_generate=True, output_logits=True, use_cache=True, **sampling,
        )
        new = result.sequences[:, width:]
        logps = torch.stack(result.logits, dim=1).float().log_softmax(-1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
        for i in range(len(chunk)):
            row = new[i].tolist()
            finished = eos in row
            n = row.index(eos) + 1 if finished else len(row)
            out.append(Generation(row[:n], tokenizer.decode(row[:n], skip_special_tokens=True),
                                  logps[i, :n].tolist(), finished))
    model.train(was_training)
    return out
