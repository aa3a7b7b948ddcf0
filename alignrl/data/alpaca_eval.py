"""The AlpacaEval package: real prompts, model outputs and GPT-4-turbo pairwise judgments.

Prompts with `prompt_id % 5 == 0` are the evaluation split and never appear in judgments.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from alignrl.data.readers import DataError

ENV_VAR = "ALIGNRL_ALPACA_EVAL_DIR"
DEFAULT_DIR = Path("..") / "shared" / "data" / "alpaca_eval"  # beside the checkout, as shipped
REFERENCE_GENERATOR = "gpt4_1106_preview"
FILES = ("prompts.parquet", "outputs.parquet", "judgments.parquet")


def alpaca_eval_dir(path: str | Path | None = None) -> Path:
    """Resolve the data directory (argument, then $ALIGNRL_ALPACA_EVAL_DIR, then ../shared/data/alpaca_eval)."""
    root = Path(path or os.environ.get(ENV_VAR) or DEFAULT_DIR)
    missing = [name for name in FILES if not (root / name).is_file()]
    if missing:
        raise DataError(
            f"AlpacaEval data not found in {root} (missing {', '.join(missing)}); "
            f"pass its directory or set {ENV_VAR}"
        )
    return root


def is_eval_prompt(prompt_id: int) -> bool:
    return prompt_id % 5 == 0


def load_prompts(path: str | Path | None = None, split: str = "train") -> list[dict]:
    """`train` (prompt_id % 5 != 0), `eval` (== 0) or `all`, as prompt rows."""
    if split not in ("train", "eval", "all"):
        raise ValueError(f"unknown split {split!r}; use train, eval or all")
    rows = pq.read_table(alpaca_eval_dir(path) / "prompts.parquet").to_pylist()
    keep = [r for r in rows if split == "all" or is_eval_prompt(r["prompt_id"]) == (split == "eval")]
    return [{"prompt_id": str(r["prompt_id"]), "prompt": r["instruction"], "answer": None, "task": r["source"]}
            for r in keep]


def load_outputs(generator: str, path: str | Path | None = None) -> dict[int, str]:
    table = pq.read_table(alpaca_eval_dir(path) / "outputs.parquet", filters=[("generator", "=", generator)])
    if table.num_rows == 0:
        raise DataError(f"AlpacaEval has no outputs for generator {generator!r}")
    return dict(zip(table["prompt_id"].to_pylist(), table["output"].to_pylist()))


def write_all_outputs(out: str | Path, path: str | Path | None = None) -> Path:
    """Every model's answer to every prompt as one pool file (`instruction`, `output`, `generator`, `prompt_id`),
    the columns of the hub's `alpaca_eval_all_outputs`. Written once (atomically), then reused."""
    out = Path(out)
    if out.is_file():
        return out
    root = alpaca_eval_dir(path)
    prompts = {r["prompt_id"]: r["instruction"] for r in pq.read_table(root / "prompts.parquet").to_pylist()}
    outputs = pq.read_table(root / "outputs.parquet", columns=["prompt_id", "generator", "output"]).to_pylist()
    rows = [{"instruction": prompts[r["prompt_id"]], "output": r["output"], "generator": r["generator"],
             "prompt_id": r["prompt_id"]} for r in outputs if r["output"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    pq.write_table(pa.Table.from_pylist(rows), partial)
    partial.replace(out)
    return out


def load_judgments(path: str | Path | None = None) -> list[dict]:
    """Raw judgment rows, without the reference-vs-itself comparisons."""
    table = pq.read_table(alpaca_eval_dir(path) / "judgments.parquet")
    table = table.filter(pc.not_equal(table["generator_b"], REFERENCE_GENERATOR))
    return table.to_pylist()


def judgment_pairs(path: str | Path | None = None, prompt_ids: set[int] | None = None) -> list[dict]:
    """Hard preference pairs from the judge: chosen = the side it preferred; soft ties (0.5) skipped."""
    prompts = {int(p["prompt_id"]): p["prompt"] for p in load_prompts(path, "all")}
    pairs = []
    for row in load_judgments(path):
        if prompt_ids is not None and row["prompt_id"] not in prompt_ids:
            continue
        pref = row["preference"]
        if pref == 0.5:
            continue
        b_wins = pref > 0.5
        pairs.append({
            "prompt_id": str(row["prompt_id"]),
            "prompt": prompts[row["prompt_id"]],
            "chosen": row["output_b"] if b_wins else row["output_a"],
            "rejected": row["output_a"] if b_wins else row["output_b"],
            "chosen_reward": None,
            "rejected_reward": None,
            "source": "off",
            "preference": pref,
            "generator_b": row["generator_b"],
        })
    return pairs


def read_judgment_file(pairs_path: str | Path, prompts_path: str | Path | None = None,
                       skipped: Counter | None = None) -> list[dict]:
    """Rows of any file with the judgments schema, with prompt texts joined in.

    Prompts come from `prompts_path`, else `prompts.parquet` beside the file, else the AlpacaEval dir.
    Rows left out (the reference against itself, a missing answer, a null or NaN preference) are
    counted by reason in `skipped`; a preference outside [0, 1] or an unknown prompt is an error.
    """
    skipped = Counter() if skipped is None else skipped
    pairs_path = Path(pairs_path)
    if not pairs_path.is_file():
        raise DataError(f"{pairs_path}: no such pairs file")
    table = pq.read_table(pairs_path)
    missing = [c for c in ("prompt_id", "output_a", "output_b", "preference") if c not in table.column_names]
    if missing:
        raise DataError(f"{pairs_path}: missing column(s) {', '.join(missing)} of the judgments schema")
    beside = pairs_path.parent / "prompts.parquet"
    prompt_file = Path(prompts_path) if prompts_path else beside if beside.is_file() else (
        alpaca_eval_dir() / "prompts.parquet")
    prompts = {int(r["prompt_id"]): r["instruction"] for r in pq.read_table(prompt_file).to_pylist()}
    rows = []
    for index, row in enumerate(table.to_pylist()):
        if row.get("generator_b") == REFERENCE_GENERATOR and row["output_a"] == row["output_b"]:
            skipped["self-comparison (the reference against itself)"] += 1
            continue
        if row["output_a"] is None or row["output_b"] is None:
            skipped["missing answer (null output_a or output_b)"] += 1
            continue
        preference = row["preference"]
        if preference is None or math.isnan(preference):
            skipped["no preference (null or NaN)"] += 1
            continue
        if not 0.0 <= preference <= 1.0:
            raise DataError(f"{pairs_path}: row {index}: column preference is {preference}, outside [0, 1] "
                            f"(it is P(output_b is preferred))")
        if int(row["prompt_id"]) not in prompts:
            raise DataError(f"{pairs_path}: row {index}: prompt_id {row['prompt_id']} is not in {prompt_file}")
        rows.append({**row, "prompt": prompts[int(row["prompt_id"])]})
    return rows
