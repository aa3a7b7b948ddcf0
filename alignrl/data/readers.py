"""Readers for Parquet and JSONL prompt and preference files; every error names the file and the row."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class DataError(ValueError):
    """A data file that cannot be used as it is."""


def read_table(path: str | Path) -> pa.Table:
    """Load a `.parquet`, `.jsonl` or `.json` (one object per line) file as an Arrow table."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            return pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise DataError(f"{path}: not a readable Parquet file ({err})") from None
    if suffix in (".jsonl", ".json"):
        rows = []
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{lineno}: malformed JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                rows.append(row)
        if not rows:
            raise DataError(f"{path}: the file holds no rows")
        # from_pylist takes its columns from the first row alone: give every row every key.
        columns = list(dict.fromkeys(key for row in rows for key in row))
        try:
            return pa.Table.from_pylist([{key: row.get(key) for key in columns} for row in rows])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise DataError(f"{path}: rows disagree on column types ({err})") from None
    raise DataError(f"{path}: unsupported data format {suffix!r}; use .parquet or .jsonl")


def _rows_with(path: str | Path, table: pa.Table, required: dict[str, type], optional: dict[str, type]) -> list[dict]:
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {table.column_names}")
    if table.num_rows == 0:
        raise DataError(f"{path}: the dataset is empty")
    rows = []
    for index, row in enumerate(table.to_pylist()):
        for column, kind in required.items():
            value = row.get(column)
            if not isinstance(value, kind) or (kind is str and not value.strip()):
                raise DataError(f"{path}: row {index}: column {column!r} must be a non-empty {kind.__name__}, "
                                f"got {value!r}")
        for column, kind in optional.items():
            value = row.get(column)
            if value is not None and not isinstance(value, kind):
                raise DataError(f"{path}: row {index}: column {column!r} must be {kind}, got {value!r}")
        rows.append(row)
    return rows


def _row_id(row: dict, index: int) -> str:
    """The row's own `prompt_id`, or its row number when the column is absent or null."""
    value = row.get("prompt_id")
    return str(index if value is None else value)


def read_prompts(path: str | Path, prompt_column: str = "prompt") -> list[dict]:
    """Rows with `prompt_id` (made from the row number when absent) and `prompt`."""
    table = read_table(path)
    rows = _rows_with(path, table, {prompt_column: str}, {"answer": str, "task": str})
    return [
        {"prompt_id": _row_id(row, index), "prompt": row[prompt_column],
         "answer": row.get("answer"), "task": row.get("task")}
        for index, row in enumerate(rows)
    ]


def read_preferences(path: str | Path) -> list[dict]:
    """Rows with `prompt`, `chosen`, `rejected`, and optional rewards and source."""
    table = read_table(path)
    rows = _rows_with(path, table, {"prompt": str, "chosen": str, "rejected": str},
                      {"chosen_reward": (int, float), "rejected_reward": (int, float), "source": str})
    return [
        {"prompt_id": _row_id(row, index), "prompt": row["prompt"], "chosen": row["chosen"],
         "rejected": row["rejected"], "chosen_reward": row.get("chosen_reward"),
         "rejected_reward": row.get("rejected_reward"), "source": row.get("source") or "off"}
        for index, row in enumerate(rows)
    ]
