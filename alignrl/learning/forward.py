"""Forward passes that turn buffer examples into the tensors a registered loss consumes."""

from __future__ import annotations

import torch

from alignrl.algorithms.batches import PairBatch
from alignrl.algorithms.logprobs import sequence_logps, shifted_mask, token_logps
from alignrl.data.encoding import pack_sequences


def sequence_logprobs(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                      per_token: bool = False):
    """Sequence log-probs of each response given its prompt (and the per-token values on request)."""
    batch = pack_sequences(prompts, responses, pad_id)
    device = next(model.parameters()).device
    input_ids = batch.input_ids.to(device)
    logits = model(input_ids=input_ids, attention_mask=batch.attention_mask.to(device)).logits
    logp_tok = token_logps(logits, input_ids)
    mask = shifted_mask(batch.loss_mask.to(device))
    seq = sequence_logps(logp_tok, mask)
    if not per_token:
        return seq
    rows = [logp_tok[i][mask[i].bool()] for i in range(len(prompts))]
    return seq, rows


def pair_batch(model, rows: list[dict], pad_id: int) -> PairBatch:
    """One forward over chosen-then-rejected sequences (N = 2P); reference log-probs come from the rows."""
    contexts = [r["context_token_ids"] for r in rows]
    seq = sequence_logprobs(model, contexts + contexts,
                            [r["chosen_token_ids"] for r in rows] + [r["rejected_token_ids"] for r in rows], pad_id)
    n = len(rows)
    as_tensor = lambda key: torch.tensor([float(r[key]) for r in rows], device=seq.device)  # noqa: E731
    return PairBatch(
        policy_chosen=seq[:n],
        policy_rejected=seq[n:],
        ref_chosen=as_tensor("ref_chosen") if rows[0].get("ref_chosen") is not None else None,
        ref_rejected=as_tensor("ref_rejected") if rows[0].get("ref_rejected") is not None else None,
        chosen_tokens=torch.tensor([len(r["chosen_token_ids"]) for r in rows], device=seq.device),
        rejected_tokens=torch.tensor([len(r["rejected_token_ids"]) for r in rows], device=seq.device),
        sources=[r["source"] for r in rows],
    )


BATCH_BUILDERS = {"pairwise": pair_batch}


def loss_batch(kind: str, model, rows: list[dict], pad_id: int):
    if kind not in BATCH_BUILDERS:
        raise NotImplementedError(f"the learner has no forward for {kind!r} examples yet")
    return BATCH_BUILDERS[kind](model, rows, pad_id)
