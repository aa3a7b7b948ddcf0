"""`pointwise`: every scored response of one prompt, with reference sequence and prompt log-probs (RAO)."""

from __future__ import annotations

import pyarrow as pa
import torch

from alignrl.algorithms.batches import PointBatch
from alignrl.algorithms.logprobs import masked_sum, sequence_logps
from alignrl.algorithms.rao import check_shared_first_token
from alignrl.data.offline import dataset_sample
from alignrl.kinds.common import HEAD, TOKENS, by_prompt, context_response_sequences, fresh, head, row_floats, unused
from alignrl.algorithms.registry import RoundShape
from alignrl.kinds.registry import Built, DataKind, register_kind
from alignrl.learning.forward import DEFAULT, batched_logprobs, context_logprobs, forward_tokens

# One prompt: n_i scored responses, their reference log-probs, and the reference prompt log-prob after t0.
POINT_EXAMPLE_SCHEMA = pa.schema(HEAD + [
    pa.field("context_token_ids", TOKENS, nullable=False),
    pa.field("response_token_ids", pa.list_(TOKENS), nullable=False),
    pa.field("rewards", pa.list_(pa.float64()), nullable=False),
    pa.field("ref_logp_seq", pa.list_(pa.float64())),  # null until a learner-side reference scores the row
    pa.field("ref_prompt_logp", pa.float64()),
])


def point_examples(samples: list[dict], ref_version: int | None, shape: RoundShape | None = None) -> Built:
    """RAO points: every scored response of a prompt, with reference sequence and prompt log-probs."""
    kept, evicted = fresh(samples, ref_version)
    rows = []
    for group in by_prompt(kept).values():
        rows.append({**head(group, ref_version, f"p:{group[0]['sample_id']}"),
                     "context_token_ids": group[0]["prompt_token_ids"],
                     "response_token_ids": [s["response_token_ids"] for s in group],
                     "rewards": [s["reward"] for s in group],
                     "ref_logp_seq": [s["ref_logp_seq"] for s in group] if ref_version is not None else None,
                     "ref_prompt_logp": group[0]["ref_prompt_logp"] if ref_version is not None else None})
    return pa.Table.from_pylist(rows, schema=POINT_EXAMPLE_SCHEMA), unused(kept, rows), evicted


def point_batch(model, rows: list[dict], pad_id: int, extras=None, options=DEFAULT) -> PointBatch:
    """Every response's sequence log-prob, plus the detached prompt log-ratio p_i per prompt."""
    contexts = [r["context_token_ids"] for r in rows for _ in r["response_token_ids"]]
    responses = [resp for r in rows for resp in r["response_token_ids"]]
    out = forward_tokens(model, contexts, responses, pad_id, options, score_prompts=True)
    check_shared_first_token(out.input_ids)
    logp_tok, device = out.logp_tok, out.logp_tok.device
    index = torch.tensor([i for i, r in enumerate(rows) for _ in r["response_token_ids"]], device=device)
    first = torch.tensor([sum(len(r["response_token_ids"]) for r in rows[:i]) for i in range(len(rows))],
                         device=device)
    with torch.no_grad():  # the prompt's own log-prob after t0, read off the first response's forward
        policy_prompt = masked_sum(logp_tok[first], out.prompt_mask[first], -1)
    return PointBatch(
        policy_logp=sequence_logps(logp_tok, out.mask),
        ref_logp=torch.tensor([v for r in rows for v in r["ref_logp_seq"]], device=device),
        rewards=torch.tensor([v for r in rows for v in r["rewards"]], device=device),
        prompt_index=index,
        prompt_logratio=policy_prompt - row_floats(rows, "ref_prompt_logp", device),
    )


def point_reference(model, rows: list[dict], pad_id: int, batch_size: int, options=DEFAULT) -> None:
    """Each response's reference sequence log-prob and each prompt's after its first token, from `model`."""
    contexts = [r["context_token_ids"] for r in rows for _ in r["response_token_ids"]]
    seqs, _ = batched_logprobs(model, contexts, [resp for r in rows for resp in r["response_token_ids"]], pad_id,
                               batch_size, options)
    prompts = context_logprobs(model, [r["context_token_ids"] for r in rows], pad_id, batch_size, options)
    start = 0
    for row, prompt in zip(rows, prompts):
        size = len(row["response_token_ids"])
        row.update(ref_logp_seq=seqs[start: start + size], ref_prompt_logp=prompt)
        start += size


def point_dataset_samples(pair, tag: str, version: int) -> list[dict]:
    """Both responses as points; the reward actor scores them (a pair's labels are no point targets)."""
    return [dataset_sample(pair, tag, "chosen", version), dataset_sample(pair, tag, "rejected", version)]


POINTWISE = register_kind(DataKind(
    "pointwise", POINT_EXAMPLE_SCHEMA, point_examples, point_batch, context_response_sequences,
    summary="every scored response of a prompt with reference sequence and prompt log-probs",
    dataset_samples=point_dataset_samples, dataset_rewards=True, prompt_logp=True, score_reference=point_reference))
