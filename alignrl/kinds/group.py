"""`group`: the G completions of one prompt with per-token behaviour and reference log-probs (GRPO)."""

from __future__ import annotations

import pyarrow as pa
import torch

from alignrl.algorithms.batches import GroupBatch
from alignrl.kinds.common import HEAD, TOKENS, by_prompt, context_response_sequences, fresh, head, padded, unused
from alignrl.algorithms.registry import RoundShape
from alignrl.kinds.registry import Built, DataKind, register_kind
from alignrl.learning.forward import DEFAULT, batched_logprobs, forward_tokens

GROUP_EXAMPLE_SCHEMA = pa.schema(HEAD + [
    pa.field("context_token_ids", TOKENS, nullable=False),
    pa.field("response_token_ids", pa.list_(TOKENS), nullable=False),
    pa.field("behaviour_logprobs", pa.list_(pa.list_(pa.float32())), nullable=False),
    pa.field("ref_logprobs", pa.list_(pa.list_(pa.float32()))),
    pa.field("rewards", pa.list_(pa.float64()), nullable=False),
])


def group_examples(samples: list[dict], ref_version: int | None, shape: RoundShape) -> Built:
    """GRPO groups: the G completions of each prompt, with behaviour and reference per-token log-probs."""
    kept, evicted = fresh(samples, ref_version)
    rows = []
    for group in by_prompt(kept).values():
        if len(group) != shape.per_prompt:
            continue  # a partial group would bias the group statistics
        rows.append({**head(group, ref_version, f"g:{group[0]['sample_id']}"),
                     "context_token_ids": group[0]["prompt_token_ids"],
                     "response_token_ids": [s["response_token_ids"] for s in group],
                     "behaviour_logprobs": [s["behaviour_logprobs"] for s in group],
                     "ref_logprobs": [s.get("ref_logprobs") or [0.0] * len(s["response_token_ids"]) for s in group],
                     "rewards": [s["reward"] for s in group]})
    return pa.Table.from_pylist(rows, schema=GROUP_EXAMPLE_SCHEMA), unused(kept, rows), evicted


def group_batch(model, rows: list[dict], pad_id: int, extras=None, options=DEFAULT) -> GroupBatch:
    """Per-token policy log-probs of every completion, aligned with the behaviour and reference rows."""
    sizes = {len(r["response_token_ids"]) for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"GRPO groups in one micro-batch differ in size: {sorted(sizes)}")
    contexts = [r["context_token_ids"] for r in rows for _ in r["response_token_ids"]]
    responses = [resp for r in rows for resp in r["response_token_ids"]]
    out = forward_tokens(model, contexts, responses, pad_id, options)
    logp_tok, mask, device = out.logp_tok, out.mask, out.logp_tok.device
    width = max(len(resp) for resp in responses)
    policy = torch.zeros((len(responses), width), device=device)
    for i in range(len(responses)):
        policy[i, : len(responses[i])] = logp_tok[i][mask[i].bool()]
    token_mask = padded([[1.0] * len(resp) for resp in responses], width, device)
    ref_rows = [lp for r in rows for lp in (r.get("ref_logprobs") or [])]
    return GroupBatch(
        logp=policy,
        old_logp=padded([lp for r in rows for lp in r["behaviour_logprobs"]], width, device),
        ref_logp=padded(ref_rows, width, device) if len(ref_rows) == len(responses) else None,
        mask=token_mask,
        rewards=torch.tensor([v for r in rows for v in r["rewards"]], device=device),
        group_size=sizes.pop(),
    )


def group_reference(model, rows: list[dict], pad_id: int, batch_size: int, options=DEFAULT) -> None:
    """Per-token reference log-probs of every completion of each row, from `model`."""
    contexts = [r["context_token_ids"] for r in rows for _ in r["response_token_ids"]]
    _, toks = batched_logprobs(model, contexts, [resp for r in rows for resp in r["response_token_ids"]], pad_id,
                               batch_size, options)
    start = 0
    for row in rows:
        size = len(row["response_token_ids"])
        row["ref_logprobs"], start = toks[start: start + size], start + size


GROUP = register_kind(DataKind(
    "group", GROUP_EXAMPLE_SCHEMA, group_examples, group_batch, context_response_sequences,
    summary="G completions of one prompt with per-token behaviour and reference log-probs",
    score_reference=group_reference))
