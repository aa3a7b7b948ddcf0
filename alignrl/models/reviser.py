"""ReAlign stage A (docs/algorithms.md §7A): train the reviser R that rewrites policy drafts.

1. Warm-up: SFT of R(yh_1 | T_rev(x, yh_M)) on the first `sft_fraction` of training prompts.
2. Quantile-anchored DPO with R_ref = the warm-up reviser, on the remaining prompts (k anchors).

Strong pools come from the preference dataset's pool of answers to the prompt dataset's training
prompts, ranked by the run's reward; with task prompts, from the task's scripted oracles (m oracles x
n samples, ranked by reward).
Training runs in-process, like the policy's SFT warm-up; the result is a safetensors HF dir that
the ReviserActor serves.
"""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from alignrl.algorithms.dpo import dpo_loss
from alignrl.algorithms.realign import RealignParams, reviser_rank_triples, revision_context
from alignrl.config.schema import RunConfig
from alignrl.data.encoding import encode_prompt, encode_response, pack_sequences
from alignrl.data.offline import load_ranked_pools, run_reward
from alignrl.data.prompts import prompt_splits, task_splits
from alignrl.learning.forward import sequence_logprobs
from alignrl.metrics import MetricsSink
from alignrl.models.generate import generate
from alignrl.models.sft import _progress, sft_loss
from alignrl.models.tiny import load_model_dir, save_model_dir
from alignrl.tasks import make_task
from alignrl.tasks.oracles import default_oracles, strong_pool


@dataclass
class ReviserResult:
    model_dir: str
    draft_reward: float  # held-out drafts of the starting policy
    revision_reward: float  # the trained reviser's revisions of those drafts
    revision_win_rate: float  # share of drafts whose revision scored higher
    sft_loss: float
    dpo_loss: float
    seconds: float
    warmup_examples: int = 0  # (worst -> best) revisions it warmed up on, one per pool
    dpo_pairs: int = 0  # quantile-anchored pairs, from the pools of at least k answers


def revision_ids(tokenizer, request: str, draft: str, template: str, budget: int) -> list[int]:
    """T_rev(x, d) as prompt ids; over `budget` tokens, the middle of the draft is cut, never the request."""
    ids = encode_prompt(tokenizer, revision_context(request, draft, template))
    while len(ids) > budget and draft:
        keep = len(draft) - (len(ids) - budget) - len("...") - 1  # strictly shorter every pass
        draft = draft[: keep // 2] + "..." + draft[len(draft) - keep // 2:] if keep > 1 else ""
        ids = encode_prompt(tokenizer, revision_context(request, draft, template))
    if len(ids) > budget:
        raise ValueError(f"revision context for {request[:30]!r} has {len(ids)} tokens, over the budget {budget} "
                         f"even with the draft removed")
    return ids


def _ranked_pools(cfg: RunConfig, params: RealignParams, tokenizer) -> list[tuple[str, list[str]]]:
    """(request, strong answers best first) per training prompt.

    With a prompt dataset, the preference dataset's pool (e.g. AlpacaEval's leaderboard answers) ranked
    by the run's reward; with task prompts, the scripted oracles' pools.
    """
    if cfg.data.prompt_dataset:
        if not cfg.data.preference_dataset:
            raise ValueError("ReAlign's reviser learns from strong answers to your prompts: set data.preference_dataset "
                             "to a pool of them (several `response` rows per prompt), or give algorithm.reviser.path")
        return load_ranked_pools(cfg, tokenizer)
    tasks = {name: make_task(name, **cfg.data.task_options.get(name, {})) for name in cfg.data.tasks}
    oracles = default_oracles()
    return [(p.text, [r.text for r in strong_pool(tasks[p.task], p, oracles, params.reviser.pool_per_oracle,
                                                  cfg.data.seed)])
            for p in task_splits(cfg).train]


def _budget(model, max_new_tokens: int) -> int:
    return model.config.max_position_embeddings - max_new_tokens


def revise(model, tokenizer, requests: list[str], drafts: list[str], template: str, max_new_tokens: int,
           temperature: float = 0.0, seed: int = 0) -> list:
    """One revision per (request, draft): the reviser's generations (token ids, text, log-probs)."""
    budget = _budget(model, max_new_tokens)
    prompts = [revision_ids(tokenizer, x, d, template, budget) for x, d in zip(requests, drafts)]
    return generate(model, tokenizer, prompts, max_new_tokens, temperature=temperature, seed=seed)


def _evaluate(cfg: RunConfig, policy, reviser, tokenizer, template: str) -> tuple[float, float, float]:
    """Sampled held-out drafts of the policy vs the reviser's greedy revisions of them, by the run's reward."""
    heldout = prompt_splits(cfg).heldout[: cfg.eval.num_prompts]
    n = cfg.eval.max_new_tokens
    drafts = generate(policy, tokenizer, [encode_prompt(tokenizer, getattr(p, "chat", None) or p.text) for p in heldout],
                      n, temperature=cfg.generation.temperature, seed=cfg.runtime.seed)
    revisions = revise(reviser, tokenizer, [p.text for p in heldout], [d.text for d in drafts], template, n)
    reward = run_reward(cfg)
    requests, ids = [p.text for p in heldout], [str(p.prompt_id) for p in heldout]
    draft_r = reward.score(requests, [d.text for d in drafts], ids)
    rev_r = reward.score(requests, [r.text for r in revisions], ids)
    wins = sum(r > d for r, d in zip(rev_r, draft_r))
    return sum(draft_r) / len(draft_r), sum(rev_r) / len(rev_r), wins / len(rev_r)


def train_reviser(cfg: RunConfig, init_dir: str | Path, out_dir: str | Path) -> ReviserResult:
    """Warm-up SFT then quantile-anchored DPO; saves OUT/model and OUT/reviser_result.json."""
    params: RealignParams = cfg.algorithm
    rp = params.reviser
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.runtime.seed)
    rng = random.Random(cfg.runtime.seed)
    started = time.perf_counter()
    model, tokenizer = load_model_dir(init_dir)
    policy = copy.deepcopy(model).eval()
    pad = tokenizer.pad_token_id
    budget = _budget(model, cfg.generation.max_new_tokens)
    pools = [(x, pool) for x, pool in _ranked_pools(cfg, params, tokenizer) if len(pool) >= 2]
    n_sft = int(len(pools) * rp.sft_fraction)
    warmup = [(revision_ids(tokenizer, x, pool[-1], rp.template, budget), encode_response(tokenizer, pool[0]))
              for x, pool in pools[:n_sft]]
    # quantile anchors per pool: a dataset's pools differ in size, and one smaller than k gives no DPO pairs
    pairs = [(revision_ids(tokenizer, x, pool[a - 1], rp.template, budget),
              encode_response(tokenizer, pool[c - 1]), encode_response(tokenizer, pool[r - 1]))
             for x, pool in pools[n_sft:] if len(pool) >= params.k
             for a, c, r in reviser_rank_triples(len(pool), params.k, params.top_anchor_chosen, params.reviser_pairing)
             if pool[c - 1] != pool[r - 1]]
    if not warmup or not pairs:
        raise ValueError(f"reviser training needs warm-up and DPO data; got {len(warmup)} and {len(pairs)} "
                         f"(raise data.n_train or change algorithm.reviser.sft_fraction)")
    sink = MetricsSink(out, "disabled", cfg.logging.project, None, None)
    sft_value = dpo_value = float("nan")
    with _progress(cfg.logging.progress) as progress:
        optimizer = torch.optim.AdamW(model.parameters(), lr=rp.sft_lr)
        bar = progress.add_task("reviser warm-up", total=rp.sft_steps, loss=float("nan"))
        model.train()
        for step in range(1, rp.sft_steps + 1):
            batch = rng.sample(warmup, min(rp.batch_size, len(warmup)))
            packed = pack_sequences([c for c, _ in batch], [t for _, t in batch], pad)
            loss = sft_loss(model, packed.input_ids, packed.attention_mask, packed.loss_mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            sft_value = loss.item()
            progress.update(bar, advance=1, loss=sft_value)
            if step % 25 == 0:
                sink.log(step, {"reviser/sft_loss": sft_value})
        reference = copy.deepcopy(model).eval().requires_grad_(False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=rp.dpo_lr)
        bar = progress.add_task("reviser DPO", total=rp.dpo_steps, loss=float("nan"))
        for step in range(1, rp.dpo_steps + 1):
            batch = rng.sample(pairs, min(rp.batch_size, len(pairs)))
            contexts = [c for c, _, _ in batch]
            responses = [w for _, w, _ in batch] + [lose for _, _, lose in batch]
            logp = sequence_logprobs(model, contexts + contexts, responses, pad)
            with torch.no_grad():
                ref = sequence_logprobs(reference, contexts + contexts, responses, pad)
            k = len(batch)
            out_loss = dpo_loss(logp[:k], logp[k:], ref[:k], ref[k:], rp.beta, ["revision"] * k)
            optimizer.zero_grad(set_to_none=True)
            out_loss.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            dpo_value = out_loss.loss.item()
            progress.update(bar, advance=1, loss=dpo_value)
            if step % 25 == 0:
                sink.log(rp.sft_steps + step, {"reviser/dpo_loss": dpo_value, **out_loss.metrics})
    model.eval()
    draft_r, rev_r, win = _evaluate(cfg, policy, model, tokenizer, rp.template)
    sink.log(rp.sft_steps + rp.dpo_steps, {"reviser/draft_reward": draft_r, "reviser/revision_reward": rev_r,
                                           "reviser/win_rate": win})
    sink.close()
    model_dir = save_model_dir(model, tokenizer, out / "model")
    result = ReviserResult(str(model_dir), draft_r, rev_r, win, sft_value, dpo_value, time.perf_counter() - started,
                           len(warmup), len(pairs))
    (out / "reviser_result.json").write_text(json.dumps(asdict(result), indent=2))
    return result


def ensure_reviser(cfg: RunConfig, out: Path, policy_dir: Path) -> Path:
    """ReAlign's reviser: the configured one, or one trained from the initial policy (cached by config)."""
    from alignrl.config.loader import sections_fingerprint

    params = cfg.algorithm.reviser
    if params.path is not None:
        return Path(params.path)
    root = Path(out) / "reviser"
    stamp, model_dir = root / "fingerprint", root / "model"
    # the reward is in the key: it ranks a dataset's pools
    key = sections_fingerprint(cfg, ("model", "data", "sft", "reward")) + json.dumps(params.model_dump(mode="json"),
                                                                                       sort_keys=True)
    if not (model_dir.is_dir() and stamp.is_file() and stamp.read_text() == key):
        result = train_reviser(cfg, policy_dir, root)
        print(f"reviser: held-out drafts {result.draft_reward:.3f} -> revisions {result.revision_reward:.3f} "
              f"(win rate {result.revision_win_rate:.2f}), trained on {result.warmup_examples} warm-up revisions and "
              f"{result.dpo_pairs} DPO pairs in {result.seconds:.1f}s")
        stamp.write_text(key)
    return model_dir
