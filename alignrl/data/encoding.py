"""Chat-templated prompts, EOS-terminated responses, and right-padded training batches."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alignrl.data.readers import DataError


class OverlongPromptError(DataError):
    """A templated prompt is longer than `data.max_prompt_tokens` and the config says reject."""


def encode_prompt(tokenizer, prompt: str | list[dict]) -> list[int]:
    """Render a prompt (one user turn, or a conversation ending in one) through the chat template, once,
    and open the assistant turn."""
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
    return list(ids)


def encode_response(tokenizer, text: str) -> list[int]:
    """Response tokens followed by EOS: the EOS is trained, so the model learns to stop."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) + [tokenizer.eos_token_id]


def fit_prompt(ids: list[int], max_tokens: int, policy: str, where: str) -> list[int]:
    """Enforce the prompt budget: reject with an error naming the row, or keep the first token and the tail."""
    if len(ids) <= max_tokens:
        return ids
    if policy == "reject":
        raise OverlongPromptError(
            f"{where}: prompt has {len(ids)} tokens, over data.max_prompt_tokens={max_tokens} "
            f"(set data.overlong_prompts=truncate to keep its tail instead)"
        )
    return ids[:1] + ids[len(ids) - (max_tokens - 1):]


@dataclass
class PackedBatch:
    input_ids: torch.Tensor  # [N, T], right-padded
    attention_mask: torch.Tensor
    loss_mask: torch.Tensor  # 1 on response tokens, EOS included
    prompt_lengths: torch.Tensor
    response_lengths: torch.Tensor


def pack_sequences(prompts: list[list[int]], responses: list[list[int]], pad_id: int) -> PackedBatch:
    """Concatenate each prompt with its response and right-pad to the longest row."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    rows = [p + r for p, r in zip(prompts, responses)]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    loss_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        input_ids[i, : len(p) + len(r)] = torch.tensor(p + r)
        attention[i, : len(p) + len(r)] = 1
        loss_mask[i, len(p): len(p) + len(r)] = 1
    return PackedBatch(
        input_ids, attention, loss_mask,
        torch.tensor([len(p) for p in prompts]), torch.tensor([len(r) for r in responses]),
    )
