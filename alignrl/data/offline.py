"""Offline data for the runtime: preference rows, tokenized once, served as dataset samples.

A dataset sample has the same fields as a generated one (alignrl/data/schemas.py), so offline rounds flow
through the same reward/reference annotation, builders and buffer as online rounds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from alignrl.config.schema import RunConfig
from alignrl.data.encoding import encode_prompt, encode_response, fit_prompt
from alignrl.data.oracle_prefs import oracle_preference_rows
from alignrl.data.pools import group_pool, rank_pool, ranked_answers
from alignrl.data.prompts import heldout_test
from alignrl.data.readers import DataError, last_user_text, read_preference_source
from alignrl.rewards import make_reward


@dataclass(frozen=True)
class OfflinePair:
    prompt_id: str
    prompt: str
    prompt_token_ids: list[int]
    chosen: str
    rejected: str
    chosen_token_ids: list[int]
    rejected_token_ids: list[int]
    chosen_reward: float | None
    rejected_reward: float | None
    source: str


def load_offline_pairs(cfg: RunConfig, tokenizer, split: str = "train",
                       skipped: Counter | None = None) -> list[OfflinePair]:
    """The dataset's pairs (a pool's best vs worst by the run's reward; with no dataset, the task oracles'
    best-vs-worst pools on `split`), tokenized. What was left out is counted by reason in `skipped`.

    With a prompt dataset, a preference row whose prompt is one of its held-out prompts (by its
    configured split) is never trained on: `split` "train" leaves those rows out, "heldout" keeps only them.
    """
    skipped = Counter() if skipped is None else skipped
    data = cfg.data
    cap = data.max_response_tokens
    if data.preference_dataset:
        form, rows = _dataset_rows(cfg, split, skipped)
        where = data.preference_dataset
        if form == "pool":
            rows = rank_pool(_pool_groups(rows, tokenizer, cap, skipped), run_reward(cfg), skipped)
    else:
        rows, where = oracle_preference_rows(cfg, cfg.data.pool_per_oracle, split), "the task oracles' pools"
    pairs = []
    for index, row in enumerate(rows):
        chosen, rejected = encode_response(tokenizer, row["chosen"]), encode_response(tokenizer, row["rejected"])
        if cap is not None and max(len(chosen), len(rejected)) > cap:
            skipped[f"pair with an answer over data.max_response_tokens={cap}"] += 1
            continue
        ids = fit_prompt(encode_prompt(tokenizer, row["prompt"]), cfg.data.max_prompt_tokens,
                         cfg.data.overlong_prompts, f"{where}: row {index}")
        pairs.append(OfflinePair(row["prompt_id"], last_user_text(row["prompt"]), ids, row["chosen"], row["rejected"],
                                 chosen, rejected, row.get("chosen_reward"), row.get("rejected_reward"),
                                 row.get("source") or "off"))
    if not pairs:
        raise DataError(f"{where}: no usable preference pairs for offline training "
                        f"(left out: {left_out_text(skipped) or 'none read'})")
    return pairs


def load_ranked_pools(cfg: RunConfig, tokenizer, skipped: Counter | None = None) -> list[tuple[str, list[str]]]:
    """(request, answers best first) per training prompt of a pool dataset, ranked by the run's reward:
    the strong pools of ReAlign's reviser. A pair dataset's rows are pools of two (chosen, rejected)."""
    skipped = Counter() if skipped is None else skipped
    cap = cfg.data.max_response_tokens
    form, rows = _dataset_rows(cfg, "train", skipped)
    if form == "pairs":
        fits = [r for r in rows if _fits(tokenizer, (r["chosen"], r["rejected"]), cap)]
        if len(fits) < len(rows):
            skipped[f"pair with an answer over data.max_response_tokens={cap}"] += len(rows) - len(fits)
        return [(last_user_text(r["prompt"]), [r["chosen"], r["rejected"]]) for r in fits]
    groups = _pool_groups(rows, tokenizer, cap, skipped)
    return [(last_user_text(g["prompt"]), [a for _, a in answers])
            for g, answers in zip(groups, ranked_answers(groups, run_reward(cfg)))]


def left_out_text(skipped: Counter) -> str:
    """What was left out, by reason, most first: "reason: count; reason: count"."""
    return "; ".join(f"{why}: {n}" for why, n in skipped.most_common())


def _dataset_rows(cfg: RunConfig, split: str, skipped: Counter) -> tuple[str, list[dict]]:
    """The preference dataset's form and rows; with a prompt dataset, only the rows of `split`'s prompts."""
    data = cfg.data
    form, rows = read_preference_source(data.preference_dataset, data.dataset_split, data.columns)
    if data.prompt_dataset:
        rows = _on_split(rows, split, heldout_test(cfg), skipped)
    return form, rows


def _fits(tokenizer, answers, cap: int | None) -> bool:
    """Whether every answer is within `cap` tokens, EOS included (null: no cap)."""
    return cap is None or all(len(encode_response(tokenizer, a)) <= cap for a in answers)


def _pool_groups(rows: list[dict], tokenizer, cap: int | None, skipped: Counter) -> list[dict]:
    """A pool's rows grouped by prompt, without the answers over `cap` tokens (EOS included)."""
    fits = [r for r in rows if _fits(tokenizer, (r["response"],), cap)]
    if len(fits) < len(rows):
        skipped[f"pool answer over data.max_response_tokens={cap}"] += len(rows) - len(fits)
    return group_pool(fits, skipped)


def _on_split(rows: list[dict], split: str, held, skipped: Counter) -> list[dict]:
    """The rows whose prompts fall in `split` of the prompt dataset's split (`held` tells a held-out prompt)."""
    keep = [r for r in rows if held(r["prompt"]) == (split == "heldout")]
    if split == "train" and len(keep) < len(rows):
        skipped["row whose prompt is held out for evaluation"] += len(rows) - len(keep)
    return keep


def run_reward(cfg: RunConfig):
    """The run's reward, in this process: it ranks a pool once, before any actor starts."""
    r = cfg.reward
    return make_reward(r.kind, r.function, r.model, r.url, r.timeout_s)


def dataset_sample(pair: OfflinePair, tag: str, role: str, version: int) -> dict:
    """One response of a dataset pair as a sample with the fields of a generated one.

    `tag` makes sample ids unique per pass over the dataset; `version` stamps the learner version
    the sample is meant for (dataset samples never go stale). Each data kind picks which
    responses of a pair it trains on (alignrl.kinds).
    """
    text, ids, reward = ((pair.chosen, pair.chosen_token_ids, pair.chosen_reward) if role == "chosen"
                         else (pair.rejected, pair.rejected_token_ids, pair.rejected_reward))
    return {"sample_id": f"{tag}-{role[0]}", "prompt_id": pair.prompt_id, "prompt": pair.prompt,
            "prompt_token_ids": pair.prompt_token_ids, "response": text, "response_token_ids": ids,
            "behaviour_logprobs": None, "finished": True, "policy_version": version, "source": pair.source,
            "reward": reward}
