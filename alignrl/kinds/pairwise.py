"""`pairwise`: one preference pair per example (DPO and its relatives, ReAlign, SimpleMix).

Dataset pairs train as labelled; generated samples pair best-vs-worst per (prompt, source), so
ReAlign's drafts and revisions pair separately.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.builders import ScoredResponse, best_worst_pair
from alignrl.algorithms.logprobs import sequence_logps
from alignrl.data.offline import dataset_sample
from alignrl.kinds.common import HEAD, TOKENS, fresh, row_floats, unused
from alignrl.algorithms.registry import RoundShape
from alignrl.kinds.registry import Built, DataKind, register_kind
from alignrl.learning.forward import DEFAULT, batched_logprobs, forward_tokens

# One preference pair: context (chat prompt or revision template), chosen and rejected responses.
PAIR_EXAMPLE_SCHEMA = pa.schema(HEAD + [
    pa.field("context_token_ids", TOKENS, nullable=False),
    pa.field("chosen_token_ids", TOKENS, nullable=False),
    pa.field("rejected_token_ids", TOKENS, nullable=False),
    pa.field("chosen_reward", pa.float64()),
    pa.field("rejected_reward", pa.float64()),
    pa.field("ref_chosen", pa.float64()),
    pa.field("ref_rejected", pa.float64()),
])


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


def pair_examples(samples: list[dict], ref_version: int | None, shape: RoundShape | None = None) -> Built:
    """Preference pairs. Dataset samples (with `pair_id` and `role`) pair as labelled; generated
    samples pair best-vs-worst per (prompt, source), e.g. drafts and revisions separately."""
    kept, evicted = fresh(samples, ref_version)
    labelled: dict[str, dict[str, dict]] = defaultdict(dict)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for s in kept:
        if s.get("pair_id"):
            labelled[s["pair_id"]][s["role"]] = s
        else:
            groups[(s["prompt_id"], s["source"])].append(s)
    rows = [_pair_row(p["chosen"], p["rejected"], ref_version, p["chosen"]["source"])
            for p in labelled.values() if "chosen" in p and "rejected" in p]
    for (_, source), group in groups.items():
        scored = [ScoredResponse(s["prompt_id"], s["prompt"], s["response"], s["reward"], s["finished"], s["sample_id"])
                  for s in group]
        pair = best_worst_pair(scored, source, keep_truncated=True)  # the runtime already applied its policy
        if pair is not None:
            by_id = {s["sample_id"]: s for s in group}
            rows.append(_pair_row(by_id[pair.chosen_id], by_id[pair.rejected_id], ref_version, source))
    return pa.Table.from_pylist(rows, schema=PAIR_EXAMPLE_SCHEMA), unused(kept, rows), evicted


def pair_batch(model, rows: list[dict], pad_id: int, extras=None, options=DEFAULT) -> PairBatch:
    """One forward over chosen-then-rejected sequences (N = 2P); reference log-probs come from the rows.

    `extras(forward: TokenForward) -> {name: [2P] tensor}` adds detached per-sequence values
    an algorithm's loss reads (WPO's weights), split into (chosen, rejected).
    """
    contexts = [r["context_token_ids"] for r in rows]
    out = forward_tokens(
        model, contexts + contexts, [r["chosen_token_ids"] for r in rows] + [r["rejected_token_ids"] for r in rows],
        pad_id, options)
    seq = sequence_logps(out.logp_tok, out.mask)
    n, device = len(rows), seq.device
    split = {}
    if extras is not None:
        with torch.no_grad():
            split = {name: (value[:n], value[n:]) for name, value in extras(out).items()}
    return PairBatch(
        policy_chosen=seq[:n],
        policy_rejected=seq[n:],
        ref_chosen=row_floats(rows, "ref_chosen", device),
        ref_rejected=row_floats(rows, "ref_rejected", device),
        chosen_tokens=torch.tensor([len(r["chosen_token_ids"]) for r in rows], device=device),
        rejected_tokens=torch.tensor([len(r["rejected_token_ids"]) for r in rows], device=device),
        extras=split,
        sources=[r["source"] for r in rows],
    )


def pair_reference(model, rows: list[dict], pad_id: int, batch_size: int, options=DEFAULT) -> None:
    """ref_chosen / ref_rejected of each row, from `model` (the learner's reference)."""
    contexts = [r["context_token_ids"] for r in rows]
    seqs, _ = batched_logprobs(model, contexts + contexts, [r["chosen_token_ids"] for r in rows] +
                               [r["rejected_token_ids"] for r in rows], pad_id, batch_size, options)
    for row, chosen, rejected in zip(rows, seqs, seqs[len(rows):]):
        row.update(ref_chosen=chosen, ref_rejected=rejected)


def pair_dataset_samples(pair, tag: str, version: int) -> list[dict]:
    """Chosen and rejected, labelled (`pair_id`, `role`) so the builder pairs them as given."""
    return [dict(dataset_sample(pair, tag, role, version), pair_id=tag, role=role) for role in ("chosen", "rejected")]


def pair_sequences(row: dict) -> list[tuple[int, int]]:
    context = len(row["context_token_ids"])
    return [(context, len(row["chosen_token_ids"])), (context, len(row["rejected_token_ids"]))]


PAIRWISE = register_kind(DataKind(
    "pairwise", PAIR_EXAMPLE_SCHEMA, pair_examples, pair_batch, pair_sequences,
    summary="one preference pair (context, chosen, rejected) with reference log-probs",
    dataset_samples=pair_dataset_samples, score_reference=pair_reference,
    # Dropping cut answers starves rounds with chat models at realistic caps; a penalty still ranks
    # every finished answer above a cut one of equal reward.
    truncated="penalize"))
