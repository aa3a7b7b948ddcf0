"""Forward passes that turn buffer examples into the tensors a registered loss consumes (pure torch)."""

from __future__ import annotations

import torch

from alignrl.algorithms.batches import GroupBatch, PairBatch, PointBatch, WeightedSFTBatch
from alignrl.algorithms.logprobs import sequence_logps, shifted_mask, token_logps
from alignrl.algorithms.rao import check_shared_first_token
from alignrl.algorithms.wpo import wpo_adjusted_logit
from alignrl.data.encoding import pack_sequences


def _forward(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int):
    """(logits, next-token log-probs [N, T-1], response mask [N, T-1], prompt mask [N, T-1])."""
    batch = pack_sequences(prompts, responses, pad_id)
    device = next(model.parameters()).device
    input_ids = batch.input_ids.to(device)
    attention = batch.attention_mask.to(device)
    logits = model(input_ids=input_ids, attention_mask=attention).logits
    mask = shifted_mask(batch.loss_mask.to(device))
    prompt_mask = shifted_mask(attention * (1 - batch.loss_mask.to(device)))
    return logits, token_logps(logits, input_ids), mask, prompt_mask, input_ids


def sequence_logprobs(model, prompts: list[list[int]], responses: list[list[int]], pad_id: int,
                      per_token: bool = False):
    """Sequence log-probs of each response given its prompt (and the per-token values on request)."""
    _, logp_tok, mask, _, _ = _forward(model, prompts, responses, pad_id)
    seq = sequence_logps(logp_tok, mask)
    if not per_token:
        return seq
    return seq, [logp_tok[i][mask[i].bool()] for i in range(len(prompts))]


def prompt_logprobs(model, prompts: list[list[int]], pad_id: int) -> torch.Tensor:
    """log p(x_{>t0} | t0) of each prompt: the prompt's own likelihood after its first token (RAO)."""
    return sequence_logprobs(model, [p[:1] for p in prompts], [p[1:] for p in prompts], pad_id)


def _floats(rows: list[dict], key: str, device) -> torch.Tensor | None:
    if rows[0].get(key) is None:
        return None
    return torch.tensor([float(r[key]) for r in rows], device=device)


def pair_batch(model, rows: list[dict], pad_id: int, params=None) -> PairBatch:
    """One forward over chosen-then-rejected sequences (N = 2P); reference log-probs come from the rows."""
    contexts = [r["context_token_ids"] for r in rows]
    logits, logp_tok, mask, _, input_ids = _forward(
        model, contexts + contexts, [r["chosen_token_ids"] for r in rows] + [r["rejected_token_ids"] for r in rows],
        pad_id)
    seq = sequence_logps(logp_tok, mask)
    n, device = len(rows), seq.device
    wpo = None
    if getattr(params, "name", None) == "wpo":
        with torch.no_grad():  # WPO weights come from the policy's own token distribution, detached
            log_sum_sq = torch.logsumexp(2 * torch.log_softmax(logits[:, :-1].float(), -1), -1)
            wpo = wpo_adjusted_logit(logp_tok, log_sum_sq, mask)
    return PairBatch(
        policy_chosen=seq[:n],
        policy_rejected=seq[n:],
        ref_chosen=_floats(rows, "ref_chosen", device),
        ref_rejected=_floats(rows, "ref_rejected", device),
        chosen_tokens=torch.tensor([len(r["chosen_token_ids"]) for r in rows], device=device),
        rejected_tokens=torch.tensor([len(r["rejected_token_ids"]) for r in rows], device=device),
        chosen_wpo_logit=None if wpo is None else wpo[:n],
        rejected_wpo_logit=None if wpo is None else wpo[n:],
        sources=[r["source"] for r in rows],
    )


def _padded(rows: list[list[float]], width: int, device) -> torch.Tensor:
    out = torch.zeros((len(rows), width), device=device)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.float32)
    return out


def group_batch(model, rows: list[dict], pad_id: int, params=None) -> GroupBatch:
    """GRPO: per-token policy log-probs of every completion, aligned with the behaviour and reference rows."""
    sizes = {len(r["response_token_ids"]) for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"GRPO groups in one micro-batch differ in size: {sorted(sizes)}")
    contexts = [r["context_token_ids"] for r in rows for _ in r["response_token_ids"]]
    responses = [resp for r in rows for resp in r["response_token_ids"]]
    _, logp_tok, mask, _, _ = _forward(model, contexts, responses, pad_id)
    device = logp_tok.device
    width = max(len(resp) for resp in responses)
    policy = torch.zeros((len(responses), width), device=device)
    for i in range(len(responses)):
        policy[i, : len(responses[i])] = logp_tok[i][mask[i].bool()]
    token_mask = _padded([[1.0] * len(resp) for resp in responses], width, device)
    ref_rows = [lp for r in rows for lp in (r.get("ref_logprobs") or [])]
    return GroupBatch(
        logp=policy,
        old_logp=_padded([lp for r in rows for lp in r["behaviour_logprobs"]], width, device),
        ref_logp=_padded(ref_rows, width, device) if len(ref_rows) == len(responses) else None,
        mask=token_mask,
        rewards=torch.tensor([v for r in rows for v in r["rewards"]], device=device),
        group_size=sizes.pop(),
    )


def point_batch(model, rows: list[dict], pad_id: int, params=None) -> PointBatch:
    """RAO: every response's sequence log-prob, plus the detached prompt log-ratio p_i per prompt."""
    contexts = [r["context_token_ids"] for r in rows for _ in r["response_token_ids"]]
    responses = [resp for r in rows for resp in r["response_token_ids"]]
    _, logp_tok, mask, prompt_mask, input_ids = _forward(model, contexts, responses, pad_id)
    check_shared_first_token(input_ids)
    device = logp_tok.device
    index = torch.tensor([i for i, r in enumerate(rows) for _ in r["response_token_ids"]], device=device)
    first = torch.tensor([sum(len(r["response_token_ids"]) for r in rows[:i]) for i in range(len(rows))],
                         device=device)
    with torch.no_grad():  # the prompt's own log-prob after t0, read off the first response's forward
        policy_prompt = (logp_tok[first] * prompt_mask[first]).sum(-1)
    return PointBatch(
        policy_logp=sequence_logps(logp_tok, mask),
        ref_logp=torch.tensor([v for r in rows for v in r["ref_logp_seq"]], device=device),
        rewards=torch.tensor([v for r in rows for v in r["rewards"]], device=device),
        prompt_index=index,
        prompt_logratio=policy_prompt - _floats(rows, "ref_prompt_logp", device),
    )


def block_batch(model, rows: list[dict], pad_id: int, params=None) -> WeightedSFTBatch:
    """VAR: diagonal policy log-probs [nb, B] and the rows' B x B cross terms [nb, B, B]."""
    sizes = {len(r["response_token_ids"]) for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"VAR blocks in one micro-batch differ in size: {sorted(sizes)}")
    size = sizes.pop()
    contexts = [c for r in rows for c in r["context_token_ids"]]
    responses = [resp for r in rows for resp in r["response_token_ids"]]
    _, logp_tok, mask, _, _ = _forward(model, contexts, responses, pad_id)
    device = logp_tok.device
    cross = lambda key: torch.tensor([r[key] for r in rows], device=device).view(len(rows), size, size)  # noqa: E731
    return WeightedSFTBatch(
        policy_logp=sequence_logps(logp_tok, mask).view(len(rows), size),
        ref_cross=cross("ref_cross"),
        reward_cross=cross("reward_cross"),
        policy_tokens=torch.tensor([len(resp) for resp in responses], device=device).view(len(rows), size),
    )


BATCH_BUILDERS = {"pairwise": pair_batch, "group": group_batch, "pointwise": point_batch,
                  "weighted_sft": block_batch}


def loss_batch(kind: str, model, rows: list[dict], pad_id: int, params=None):
    if kind not in BATCH_BUILDERS:
        raise NotImplementedError(f"the learner has no forward for {kind!r} examples")
    return BATCH_BUILDERS[kind](model, rows, pad_id, params)
