"""`weighted_sft`: fixed blocks of B (prompt, response) items with B x B cross rewards and reference log-probs (VAR)."""

from __future__ import annotations

import pyarrow as pa
import torch

from alignrl.algorithms.batches import WeightedSFTBatch
from alignrl.algorithms.logprobs import sequence_logps
from alignrl.data.offline import dataset_sample
from alignrl.kinds.common import HEAD, TOKENS, fresh, head, unused
from alignrl.algorithms.registry import RoundShape
from alignrl.kinds.registry import Built, DataKind, register_kind
from alignrl.learning.forward import DEFAULT, cross_logprobs, forward_tokens

# One block of B items; the cross terms are row-major: row i holds r(x_i, y_j) / log p_ref(y_j | x_i).
BLOCK_EXAMPLE_SCHEMA = pa.schema(HEAD + [
    pa.field("context_token_ids", pa.list_(TOKENS), nullable=False),
    pa.field("response_token_ids", pa.list_(TOKENS), nullable=False),
    pa.field("reward_cross", pa.list_(pa.float64()), nullable=False),
    pa.field("ref_cross", pa.list_(pa.float64())),  # null until a learner-side reference scores the row
])


def block_examples(samples: list[dict], ref_version: int | None, shape: RoundShape) -> Built:
    """Consecutive blocks of B samples annotated with their B x B cross terms."""
    kept, evicted = fresh(samples, ref_version)
    size, rows = shape.block, []
    for start in range(0, len(kept) - size + 1, size):
        block = kept[start: start + size]
        if ref_version is not None and any(len(s.get("ref_cross_row") or ()) != size for s in block):
            raise ValueError(f"VAR block at sample {block[0]['sample_id']} lacks its {size} cross terms")
        rows.append({**head(block, ref_version, f"b:{block[0]['sample_id']}"),
                     "context_token_ids": [s["prompt_token_ids"] for s in block],
                     "response_token_ids": [s["response_token_ids"] for s in block],
                     "reward_cross": [v for s in block for v in s["reward_cross_row"]],
                     "ref_cross": [v for s in block for v in s["ref_cross_row"]] if ref_version is not None else None})
    return pa.Table.from_pylist(rows, schema=BLOCK_EXAMPLE_SCHEMA), unused(kept, rows), evicted


def block_batch(model, rows: list[dict], pad_id: int, extras=None, options=DEFAULT) -> WeightedSFTBatch:
    """Diagonal policy log-probs [nb, B] and the rows' B x B cross terms [nb, B, B]."""
    sizes = {len(r["response_token_ids"]) for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"VAR blocks in one micro-batch differ in size: {sorted(sizes)}")
    size = sizes.pop()
    contexts = [c for r in rows for c in r["context_token_ids"]]
    responses = [resp for r in rows for resp in r["response_token_ids"]]
    out = forward_tokens(model, contexts, responses, pad_id, options)
    device = out.logp_tok.device

    def cross(key: str) -> torch.Tensor:
        return torch.tensor([r[key] for r in rows], device=device).view(len(rows), size, size)

    return WeightedSFTBatch(
        policy_logp=sequence_logps(out.logp_tok, out.mask).view(len(rows), size),
        ref_cross=cross("ref_cross"),
        reward_cross=cross("reward_cross"),
        policy_tokens=torch.tensor([len(resp) for resp in responses], device=device).view(len(rows), size),
    )


def block_reference(model, rows: list[dict], pad_id: int, batch_size: int, options=DEFAULT) -> None:
    """The B x B reference cross terms of each block (row-major), from `model`."""
    for row in rows:
        cross = cross_logprobs(model, row["context_token_ids"], row["response_token_ids"], pad_id, batch_size, options)
        row["ref_cross"] = [v for values in cross for v in values]


def block_dataset_samples(pair, tag: str, version: int) -> list[dict]:
    """The chosen response only: VAR imitates good responses, weighted by the cross rewards."""
    return [dataset_sample(pair, tag, "chosen", version)]


def block_sequences(row: dict) -> list[tuple[int, int]]:
    return [(len(c), len(r)) for c, r in zip(row["context_token_ids"], row["response_token_ids"])]


WEIGHTED_SFT = register_kind(DataKind(
    "weighted_sft", BLOCK_EXAMPLE_SCHEMA, block_examples, block_batch, block_sequences,
    summary="blocks of B items with B x B cross rewards and reference log-probs",
    dataset_samples=block_dataset_samples, cross_blocks=True, score_reference=block_reference))
