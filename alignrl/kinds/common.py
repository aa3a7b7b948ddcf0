"""What every data kind's builder shares: the example head, freshness, and the unused-sample accounting."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import torch

TOKENS = pa.list_(pa.int32())
# Every example names the samples it consumes (`sample_ids`, for exactly-once accounting), the
# oldest policy version among them (staleness) and the reference version of its log-probs.
HEAD = [
    pa.field("example_id", pa.string(), nullable=False),
    pa.field("sample_ids", pa.list_(pa.string()), nullable=False),
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("policy_version", pa.int64(), nullable=False),
    pa.field("ref_version", pa.int64()),
    pa.field("source", pa.string(), nullable=False),
]


def fresh(samples: list[dict], ref_version: int | None) -> tuple[list[dict], list[str]]:
    """(samples scored under the current reference, ids of those scored under an older one)."""
    if ref_version is None:  # the loss uses no reference: nothing can be stale
        return samples, []
    evicted = [s["sample_id"] for s in samples if s.get("ref_version") != ref_version]
    return [s for s in samples if s.get("ref_version") == ref_version], evicted


def unused(kept: list[dict], rows: list[dict]) -> list[str]:
    """Ids of samples no example uses (ties, truncation, incomplete groups): dropped."""
    used = {sid for row in rows for sid in row["sample_ids"]}
    return [s["sample_id"] for s in kept if s["sample_id"] not in used]


def by_prompt(samples: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        groups[s["prompt_id"]].append(s)
    return groups


def head(group: list[dict], ref_version: int | None, example_id: str) -> dict:
    return {"example_id": example_id, "sample_ids": [s["sample_id"] for s in group],
            "prompt_id": group[0]["prompt_id"], "policy_version": min(s["policy_version"] for s in group),
            "ref_version": ref_version, "source": group[0]["source"]}


def context_response_sequences(row: dict) -> list[tuple[int, int]]:
    """(prompt, response) lengths when one context is paired with each of a row's responses (groups, points)."""
    return [(len(row["context_token_ids"]), len(resp)) for resp in row["response_token_ids"]]


def row_floats(rows: list[dict], key: str, device) -> torch.Tensor | None:
    """One float per row from `key`, or None when the rows carry none (no reference was scored)."""
    if rows[0].get(key) is None:
        return None
    return torch.tensor([float(r[key]) for r in rows], device=device)


def padded(rows: list[list[float]], width: int, device) -> torch.Tensor:
    out = torch.zeros((len(rows), width), device=device)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.float32)
    return out
