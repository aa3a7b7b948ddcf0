"""Example builders: scored, reference-annotated samples -> replay-buffer rows (Arrow), one per data kind.

Every builder returns (examples, dropped sample ids, evicted sample ids). Samples scored under an
older reference are evicted (their reference log-probs no longer match the loss); samples a
builder uses in no example (ties, truncation, an incomplete block) are dropped. Both are terminal
states in the buffer's exactly-once accounting.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from alignrl.algorithms.builders import ScoredResponse, best_worst_pair
from alignrl.data.example_schemas import (BLOCK_EXAMPLE_SCHEMA, GROUP_EXAMPLE_SCHEMA, PAIR_EXAMPLE_SCHEMA,
                                          POINT_EXAMPLE_SCHEMA)

Built = tuple[pa.Table, list[str], list[str]]


def _fresh(samples: list[dict], ref_version: int | None) -> tuple[list[dict], list[str]]:
    if ref_version is None:  # the loss uses no reference: nothing can be stale
        return samples, []
    evicted = [s["sample_id"] for s in samples if s.get("ref_version") != ref_version]
    return [s for s in samples if s.get("ref_version") == ref_version], evicted


def _unused(fresh: list[dict], rows: list[dict]) -> list[str]:
    used = {sid for row in rows for sid in row["sample_ids"]}
    return [s["sample_id"] for s in fresh if s["sample_id"] not in used]


def _pair_row(chosen: dict, rejected: dict, ref_version: int | None, source: str) -> dict:
    return {
        "example_id": f"{chosen['sample_id']}|{rejected['sample_id']}",
        "sample_ids": [chosen["sample_id"], rejected["sample_id"]],
        "prompt_id": chosen["prompt_id"],
        "policy_version": min(chosen["policy_version"], rejected["policy_version"]),
        "ref_version": ref_version,
        "source": source,
        "context_token_ids": chosen["prompt_token_ids"],
        "chosen_token_ids": chosen["response_token_ids"],
        "rejected_token_ids": rejected["response_token_ids"],
        "chosen_reward": chosen.get("reward"),
        "rejected_reward": rejected.get("reward"),
        "ref_chosen": chosen.get("ref_logp_seq"),
        "ref_rejected": rejected.get("ref_logp_seq"),
    }


def pair_examples(samples: list[dict], ref_version: int | None) -> Built:
    """Preference pairs. Dataset samples (with `pair_id` and `role`) pair as labelled; generated
    samples pair best-vs-worst per (prompt, source), e.g. drafts and revisions separately."""
    fresh, evicted = _fresh(samples, ref_version)
    labelled: dict[str, dict[str, dict]] = defaultdict(dict)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for s in fresh:
        if s.get("pair_id"):
            labelled[s["pair_id"]][s["role"]] = s
        else:
            groups[(s["prompt_id"], s["source"])].append(s)
    rows = [_pair_row(p["chosen"], p["rejected"], ref_version, p["chosen"]["source"])
            for p in labelled.values() if "chosen" in p and "rejected" in p]
    for (_, source), group in groups.items():
        scored = [ScoredResponse(s["prompt_id"], s["prompt"], s["response"], s["reward"], s["finished"], s["sample_id"])
                  for s in group]
        pair = best_worst_pair(scored, source)
        if pair is not None:
            by_id = {s["sample_id"]: s for s in group}
            rows.append(_pair_row(by_id[pair.chosen_id], by_id[pair.rejected_id], ref_version, source))
    return pa.Table.from_pylist(rows, schema=PAIR_EXAMPLE_SCHEMA), _unused(fresh, rows), evicted


def _by_prompt(samples: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        groups[s["prompt_id"]].append(s)
    return groups


def _head(group: list[dict], ref_version: int | None, example_id: str) -> dict:
    return {"example_id": example_id, "sample_ids": [s["sample_id"] for s in group],
            "prompt_id": group[0]["prompt_id"], "policy_version": min(s["policy_version"] for s in group),
            "ref_version": ref_version, "source": group[0]["source"]}


def group_examples(samples: list[dict], ref_version: int | None, group_size: int) -> Built:
    """GRPO groups: the G completions of each prompt, with behaviour and reference per-token log-probs."""
    fresh, evicted = _fresh(samples, ref_version)
    rows = []
    for prompt_id, group in _by_prompt(fresh).items():
        if len(group) != group_size:
            continue  # a partial group would bias the group statistics
        rows.append({**_head(group, ref_version, f"g:{group[0]['sample_id']}"),
                     "context_token_ids": group[0]["prompt_token_ids"],
                     "response_token_ids": [s["response_token_ids"] for s in group],
                     "behaviour_logprobs": [s["behaviour_logprobs"] for s in group],
                     "ref_logprobs": [s.get("ref_logprobs") or [0.0] * len(s["response_token_ids"]) for s in group],
                     "rewards": [s["reward"] for s in group]})
    return pa.Table.from_pylist(rows, schema=GROUP_EXAMPLE_SCHEMA), _unused(fresh, rows), evicted


def point_examples(samples: list[dict], ref_version: int | None) -> Built:
    """RAO points: every scored response of a prompt, with reference sequence and prompt log-probs."""
    fresh, evicted = _fresh(samples, ref_version)
    rows = []
    for prompt_id, group in _by_prompt(fresh).items():
        rows.append({**_head(group, ref_version, f"p:{group[0]['sample_id']}"),
                     "context_token_ids": group[0]["prompt_token_ids"],
                     "response_token_ids": [s["response_token_ids"] for s in group],
                     "rewards": [s["reward"] for s in group],
                     "ref_logp_seq": [s["ref_logp_seq"] for s in group],
                     "ref_prompt_logp": group[0]["ref_prompt_logp"]})
    return pa.Table.from_pylist(rows, schema=POINT_EXAMPLE_SCHEMA), _unused(fresh, rows), evicted


def block_examples(samples: list[dict], ref_version: int | None, block_size: int) -> Built:
    """VAR micro-batches: consecutive blocks of B samples annotated with their B x B cross terms."""
    fresh, evicted = _fresh(samples, ref_version)
    rows = []
    for start in range(0, len(fresh) - block_size + 1, block_size):
        block = fresh[start: start + block_size]
        if any(len(s.get("ref_cross_row") or ()) != block_size for s in block):
            raise ValueError(f"VAR block at sample {block[0]['sample_id']} lacks its {block_size} cross terms")
        rows.append({**_head(block, ref_version, f"b:{block[0]['sample_id']}"),
                     "context_token_ids": [s["prompt_token_ids"] for s in block],
                     "response_token_ids": [s["response_token_ids"] for s in block],
                     "reward_cross": [v for s in block for v in s["reward_cross_row"]],
                     "ref_cross": [v for s in block for v in s["ref_cross_row"]]})
    return pa.Table.from_pylist(rows, schema=BLOCK_EXAMPLE_SCHEMA), _unused(fresh, rows), evicted
