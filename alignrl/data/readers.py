"""Readers for Parquet and JSONL prompt and preference files; every error names the file and the row."""

from __future__ import annotations

import json
import os
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


def read_dataset(source: str | Path, split: str = "train") -> tuple[pa.Table, str]:
    """(table, where) from a data file, a `datasets` dir written by `save_to_disk`, or a hub dataset id
    (`owner/name`, or `owner/name:config` for one of its configs)."""
    path = Path(source)
    if path.is_file() or path.suffix.lower() in (".parquet", ".jsonl", ".json"):
        return read_table(path), str(path)
    try:
        import datasets
    except ImportError:
        raise DataError(f"{source}: not a data file; reading dataset dirs and hub ids needs the `datasets` "
                        f"package") from None
    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as err:
            raise DataError(f"{path}: not a dataset saved with save_to_disk ({err})") from None
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataError(f"{path}: no split {split!r}; it has {sorted(loaded)} (set data.dataset_split)")
            loaded = loaded[split]
        return loaded.data.table, f"{path} [{split}]"
    hub_id, _, config = str(source).partition(":")  # owner/name:config picks one of the dataset's configs
    try:
        loaded = datasets.load_dataset(hub_id, config or None, split=split)
    except Exception as err:  # noqa: BLE001 - the hub client raises many kinds; all mean "not available"
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise DataError(f"{source}: not a local file or dataset dir, and the hub dataset could not be loaded"
                        f"{offline}: {type(err).__name__}: {str(err)[:300]}") from None
    return loaded.data.table, f"{source} [{split}]"


def _row_id(row: dict, index: int, column: str = "prompt_id") -> str:
    """The row's own id, or its row number when the column is absent or null."""
    value = row.get(column)
    return str(index if value is None else value)


ROLES = ("system", "user", "assistant")


def as_messages(value, where: str) -> list[dict]:
    """A conversational value (TRL's format): a non-empty list of {role, content} with string content."""
    if not isinstance(value, list) or not value:
        raise DataError(f"{where}: expected a non-empty list of {{role, content}} messages, got {value!r:.80}")
    out = []
    for i, message in enumerate(value):
        if (not isinstance(message, dict) or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)):
            raise DataError(f"{where}: message {i} must be {{role: {'|'.join(ROLES)}, content: str}}, "
                            f"got {message!r:.80}")
        out.append({"role": message["role"], "content": message["content"]})
    return out


def _text_or_messages(value, where: str, what: str):
    """A non-empty string, or validated messages: the two forms a prompt or a response may take."""
    if isinstance(value, str):
        if not value.strip():
            raise DataError(f"{where}: the {what} is empty")
        return value
    if not isinstance(value, list):
        raise DataError(f"{where}: must be a string or a list of {{role, content}} messages, got {value!r:.80}")
    return as_messages(value, where)


def prompt_value(value, where: str):
    """A prompt as a string, or as messages ending in a user turn (trailing assistant turns are answers)."""
    messages = _text_or_messages(value, where, "prompt")
    if isinstance(messages, str):
        return messages
    while messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    if not messages or messages[-1]["role"] != "user":
        raise DataError(f"{where}: a conversational prompt must end with a user turn")
    return messages


def last_user_text(prompt) -> str:
    """What rewards see as the prompt: the text, or the conversation's last user turn."""
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


def response_text(value, where: str) -> str:
    """A response as a string, or as messages whose last (assistant) turn is the response."""
    messages = _text_or_messages(value, where, "response")
    if isinstance(messages, str):
        return messages
    if messages[-1]["role"] != "assistant":
        raise DataError(f"{where}: a conversational response must end with an assistant turn")
    return messages[-1]["content"]


def _column(table: pa.Table, where: str, role: str, columns: dict[str, str], fallback: str | None = None) -> str:
    name = columns.get(role, role)
    if name in table.column_names:
        return name
    if fallback and role not in columns and fallback in table.column_names:
        return fallback
    hint = "" if role in columns else f" (map another column with data.columns: {{{role}: NAME}})"
    raise DataError(f"{where}: no {name!r} column; found {table.column_names}{hint}")


def read_prompts(path: str | Path, prompt_column: str = "prompt", split: str = "train",
                 columns: dict[str, str] | None = None) -> list[dict]:
    """Rows with `prompt_id` (the row number when absent), `prompt` (text or messages), `answer`, `task`.

    The prompt column may hold strings or conversations (TRL's prompt-only and conversational formats);
    without one, a `messages` column is read with its final assistant turns removed.
    """
    columns = {**({"prompt": prompt_column} if prompt_column != "prompt" else {}), **(columns or {})}
    table, where = read_dataset(path, split)
    if table.num_rows == 0:
        raise DataError(f"{where}: the dataset is empty")
    column = _column(table, where, "prompt", columns, fallback="messages")
    id_column = columns.get("prompt_id", "prompt_id")
    out = []
    for index, row in enumerate(table.to_pylist()):
        at = f"{where}: row {index}: column {column!r}"
        out.append({"prompt_id": _row_id(row, index, id_column), "prompt": prompt_value(row.get(column), at),
                    "answer": row.get("answer"), "task": row.get("task")})
    return out


def read_preferences(path: str | Path, split: str = "train", columns: dict[str, str] | None = None) -> list[dict]:
    """Rows with `prompt` (text or messages), `chosen`, `rejected`, and optional rewards and source.

    chosen/rejected may be strings or conversations ending in the assistant's response (TRL's
    conversational preference format).
    """
    table, where = _non_empty(path, split)
    return _pair_rows(table, where, columns or {})


def read_preference_source(path: str | Path, split: str = "train",
                           columns: dict[str, str] | None = None) -> tuple[str, list[dict]]:
    """("pairs", preference rows) or ("pool", candidate rows), told apart by the dataset's columns.

    A pool has a `response` column and no chosen/rejected: several candidate answers per prompt,
    to be ranked by the run's reward (alignrl.data.pools).
    """
    columns = columns or {}
    table, where = _non_empty(path, split)
    present = set(table.column_names)
    if columns.get("chosen", "chosen") in present or columns.get("rejected", "rejected") in present:
        return "pairs", _pair_rows(table, where, columns)
    if columns.get("response", "response") in present:
        return "pool", _pool_rows(table, where, columns)
    raise DataError(f"{where}: neither preference pairs (chosen, rejected columns) nor a pool of answers (a response "
                    f"column); found {table.column_names} (map columns with data.columns, e.g. {{response: output}})")


def _non_empty(path, split) -> tuple[pa.Table, str]:
    table, where = read_dataset(path, split)
    if table.num_rows == 0:
        raise DataError(f"{where}: the dataset is empty")
    return table, where


def _pair_rows(table: pa.Table, where: str, columns: dict[str, str]) -> list[dict]:
    names = {role: _column(table, where, role, columns) for role in ("prompt", "chosen", "rejected")}
    rows = []
    for index, row in enumerate(table.to_pylist()):
        at = {role: f"{where}: row {index}: column {name!r}" for role, name in names.items()}
        for reward in ("chosen_reward", "rejected_reward"):
            value = row.get(reward)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise DataError(f"{where}: row {index}: column {reward!r} must be a number, got {value!r}")
        source = row.get("source")
        if source is not None and not isinstance(source, str):
            raise DataError(f"{where}: row {index}: column 'source' must be a string, got {source!r}")
        rows.append({"prompt_id": _row_id(row, index, columns.get("prompt_id", "prompt_id")),
                     "prompt": prompt_value(row.get(names["prompt"]), at["prompt"]),
                     "chosen": response_text(row.get(names["chosen"]), at["chosen"]),
                     "rejected": response_text(row.get(names["rejected"]), at["rejected"]),
                     "chosen_reward": row.get("chosen_reward"), "rejected_reward": row.get("rejected_reward"),
                     "source": source or "off"})
    return rows


def _pool_rows(table: pa.Table, where: str, columns: dict[str, str]) -> list[dict]:
    names = {role: _column(table, where, role, columns) for role in ("prompt", "response")}
    id_column = columns.get("prompt_id", "prompt_id")
    return [{"prompt_id": _row_id(row, index, id_column),
             "prompt": prompt_value(row.get(names["prompt"]), f"{where}: row {index}: column {names['prompt']!r}"),
             "response": response_text(row.get(names["response"]),
                                       f"{where}: row {index}: column {names['response']!r}")}
            for index, row in enumerate(table.to_pylist())]
