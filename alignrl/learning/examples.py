"""Algorithm builders on scored samples: from generated rows to buffer examples (Arrow)."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from alignrl.algorithms.builders import ScoredResponse, best_worst_pair
from alignrl.data.schemas import PAIR_EXAMPLE_SCHEMA


def pair_examples(samples: list[dict], ref_version: int) -> tuple[pa.Table, list[str], list[str]]:
    """Best-vs-worst pairs per prompt (DPO-On / iterative DPO).

    Returns (examples, dropped sample ids, evicted sample ids). Samples scored under an older
    reference are evicted: their reference log-probs no longer match the loss.
    """
    evicted = [s["sample_id"] for s in samples if s["ref_version"] != ref_version]
    fresh = [s for s in samples if s["ref_version"] == ref_version]
    by_prompt: dict[str, list[dict]] = defaultdict(list)
    for s in fresh:
        by_prompt[s["prompt_id"]].append(s)
    rows, used = [], set()
    for prompt_id, group in by_prompt.items():
        scored = [ScoredResponse(prompt_id, s["prompt"], s["response"], s["reward"], s["finished"], s["sample_id"])
                  for s in group]
        pair = best_worst_pair(scored, "on")
        if pair is None:
            continue
        by_id = {s["sample_id"]: s for s in group}
        chosen, rejected = by_id[pair.chosen_id], by_id[pair.rejected_id]
        used.update((chosen["sample_id"], rejected["sample_id"]))
        rows.append({
            "example_id": f"{chosen['sample_id']}|{rejected['sample_id']}",
            "sample_ids": [chosen["sample_id"], rejected["sample_id"]],
            "prompt_id": prompt_id,
            "policy_version": min(chosen["policy_version"], rejected["policy_version"]),
            "ref_version": ref_version,
            "source": "on",
            "context_token_ids": chosen["prompt_token_ids"],
            "chosen_token_ids": chosen["response_token_ids"],
            "rejected_token_ids": rejected["response_token_ids"],
            "chosen_reward": chosen["reward"],
            "rejected_reward": rejected["reward"],
            "ref_chosen": chosen["ref_logp_seq"],
            "ref_rejected": rejected["ref_logp_seq"],
        })
    in_examples = {sid for row in rows for sid in row["sample_ids"]}
    dropped = [s["sample_id"] for s in fresh if s["sample_id"] not in in_examples]
    return pa.Table.from_pylist(rows, schema=PAIR_EXAMPLE_SCHEMA), dropped, evicted
