"""A pool of candidate answers per prompt, ranked by the run's reward into best-vs-worst preference pairs.

This is how the offline methods (DPO-Off, VAR, RAO) use a file of several models' answers to the
same prompts, e.g. AlpacaEval's leaderboard outputs: the run's own reward ranks each prompt's
answers, as the scripted oracles' pools are ranked for the verifiable tasks.
"""

from __future__ import annotations

from collections import Counter

from alignrl.data.prompts import content_key
from alignrl.data.readers import last_user_text


def group_pool(rows: list[dict], skipped: Counter) -> list[dict]:
    """Rows grouped by prompt content (the first row's id is kept), each answer once."""
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(content_key(row["prompt"]),
                                  {"prompt_id": row["prompt_id"], "prompt": row["prompt"], "responses": []})
        if row["response"] in group["responses"]:
            skipped["duplicate answer to the same prompt"] += 1
        else:
            group["responses"].append(row["response"])
    return list(groups.values())


def ranked_answers(groups: list[dict], reward) -> list[list[tuple[float, str]]]:
    """Each group's answers as (score, answer), best first (equal scores keep the pool's order).

    `reward` has `score(prompts, responses, sample_ids)` (alignrl.rewards); every answer is scored in one call.
    """
    flat = [(n, i, r) for n, g in enumerate(groups) for i, r in enumerate(g["responses"])]
    scores = reward.score([last_user_text(groups[n]["prompt"]) for n, _, _ in flat], [r for _, _, r in flat],
                          [f"pool-{groups[n]['prompt_id']}-{i}" for n, i, _ in flat]) if flat else []
    ranked: list[list[tuple[float, str]]] = [[] for _ in groups]
    for (n, _, response), score in zip(flat, scores):
        ranked[n].append((score, response))
    return [sorted(answers, key=lambda a: -a[0]) for answers in ranked]


def rank_pool(groups: list[dict], reward, skipped: Counter) -> list[dict]:
    """Per prompt: chosen = the answer the reward scores highest, rejected = the lowest.

    A prompt with one answer, or whose answers all score the same, gives no pair and is counted in `skipped`.
    """
    rows = []
    for g, answers in zip(groups, ranked_answers(groups, reward)):
        if len(answers) < 2:
            skipped["prompt with fewer than 2 answers"] += 1
            continue
        best, worst = answers[0], answers[-1]
        if best[0] == worst[0]:
            skipped["prompt whose answers all score the same"] += 1
            continue
        rows.append({"prompt_id": g["prompt_id"], "prompt": g["prompt"], "chosen": best[1], "rejected": worst[1],
                     "chosen_reward": best[0], "rejected_reward": worst[0], "source": "off"})
    return rows
