"""Offline preference datasets from the scripted oracles' ranked pools (DPO-Off style)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from alignrl.config.schema import RunConfig
from alignrl.data.schemas import PREFERENCE_SCHEMA
from alignrl.tasks import make_task
from alignrl.tasks.oracles import default_oracles, strong_pool
from alignrl.tasks.splits import make_splits


def oracle_preference_rows(cfg: RunConfig, per_oracle: int = 5, split: str = "train") -> list[dict]:
    """Per prompt of a split: pool m oracles x n samples, chosen = top-ranked, rejected = bottom-ranked."""
    tasks = {name: make_task(name, **cfg.data.task_options.get(name, {})) for name in cfg.data.tasks}
    splits = make_splits(list(tasks.values()), cfg.data.n_train, cfg.data.n_heldout, cfg.data.seed,
                         cfg.data.heldout_fraction)
    oracles = default_oracles()
    rows = []
    for prompt in getattr(splits, split):
        pool = strong_pool(tasks[prompt.task], prompt, oracles, per_oracle, cfg.data.seed)
        best, worst = pool[0], pool[-1]
        if best.reward == worst.reward or best.text == worst.text:
            continue
        rows.append({"prompt_id": prompt.prompt_id, "prompt": prompt.text, "chosen": best.text,
                     "rejected": worst.text, "chosen_reward": best.reward, "rejected_reward": worst.reward,
                     "source": "off"})
    return rows


def write_oracle_preferences(cfg: RunConfig, out: str | Path, per_oracle: int = 5) -> int:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = oracle_preference_rows(cfg, per_oracle)
    table = pa.Table.from_pylist(rows, schema=PREFERENCE_SCHEMA)
    if out.suffix == ".parquet":
        pq.write_table(table, out)
    elif out.suffix == ".jsonl":
        import json

        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        raise ValueError(f"{out}: write .parquet or .jsonl")
    return len(rows)
