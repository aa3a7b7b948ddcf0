"""Offline data for the runtime: preference rows, tokenized once, served as dataset samples.

A dataset sample has the same fields as a generated one (alignrl/data/schemas.py), so offline rounds flow
through the same reward/reference annotation, builders and buffer as online rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from alignrl.config.schema import RunConfig
from alignrl.data.encoding import encode_prompt, encode_response, fit_prompt
from alignrl.data.oracle_prefs import oracle_preference_rows
from alignrl.data.readers import DataError, last_user_text, read_preferences


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


def load_offline_pairs(cfg: RunConfig, tokenizer, split: str = "train") -> list[OfflinePair]:
    """The dataset's pairs (or, with none given, the task oracles' best-vs-worst pools on `split`), tokenized."""
    if cfg.data.preference_dataset:
        rows = read_preferences(cfg.data.preference_dataset, cfg.data.dataset_split, cfg.data.columns)
        where = cfg.data.preference_dataset
    else:
        rows, where = oracle_preference_rows(cfg, cfg.data.pool_per_oracle, split), "the task oracles' pools"
    if not rows:
        raise DataError(f"{where}: no usable preference pairs for offline training")
    pairs = []
    for index, row in enumerate(rows):
        ids = fit_prompt(encode_prompt(tokenizer, row["prompt"]), cfg.data.max_prompt_tokens,
                         cfg.data.overlong_prompts, f"{where}: row {index}")
        pairs.append(OfflinePair(row["prompt_id"], last_user_text(row["prompt"]), ids, row["chosen"], row["rejected"],
                                 encode_response(tokenizer, row["chosen"]), encode_response(tokenizer, row["rejected"]),
                                 row.get("chosen_reward"), row.get("rejected_reward"), row.get("source") or "off"))
    return pairs


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
