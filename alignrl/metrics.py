"""Metrics sinks: `OUT/metrics.jsonl` always, Weights & Biases when enabled."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

_SECRET_KEYS = re.compile(r"(api[_-]?key|token|secret|password)", re.IGNORECASE)


def redact(value: Any) -> Any:
    """Blank out secret-looking keys before anything is logged or saved."""
    if isinstance(value, dict):
        return {k: ("***" if _SECRET_KEYS.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


_SECRET_ENV = ("WANDB_API_KEY", "RAY_AUTH_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AWS_SECRET_ACCESS_KEY")
_SECRET_ASSIGNMENT = re.compile(r"((?:api[_-]?key|token|secret|password)[\"']?\s*[=:]\s*[\"']?)([^\s\"',}]+)",
                                re.IGNORECASE)


def redact_text(text: str) -> str:
    """Blank out secrets in a log line: values of known secret env vars, and `key=value` / `key: value` pairs."""
    for name in _SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 8:
            text = text.replace(value, "***")
    return _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + "***", text)


def drop_rows_after(path: str | Path, step: int) -> int:
    """Remove the rows a crashed run logged after the checkpoint it resumes from (they are trained again),
    so a resumed run's curves hold each step once. Returns how many rows went."""
    path = Path(path)
    if not path.is_file():
        return 0
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = []
    for line in lines:
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            pass  # a row cut short by the crash
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)
    return len(lines) - len(kept)


class MetricsSink:
    """One JSON object per line with `step` and metric keys; mirrored to W&B unless disabled."""

    def __init__(self, out_dir: str | Path, wandb_mode: str = "disabled", project: str = "alignrl",
                 run_name: str | None = None, config: dict | None = None):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / "metrics.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        self._wandb = None
        if wandb_mode != "disabled":
            import wandb  # imported lazily: most test runs never touch it

            # The key is read by wandb itself from WANDB_API_KEY; it never passes through configs.
            os.environ.setdefault("WANDB_DIR", str(self.out_dir))
            os.environ.setdefault("WANDB_SILENT", "true")
            self._wandb = wandb.init(project=project, name=run_name, mode=wandb_mode,
                                     config=redact(config or {}), dir=str(self.out_dir))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        clean = {k: (float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None) for k, v in metrics.items()}
        self._file.write(json.dumps({"step": step, **clean}) + "\n")
        self._file.flush()
        if self._wandb is not None:
            self._wandb.log({k: v for k, v in clean.items() if v is not None}, step=step)

    def table(self, step: int, key: str, columns: list[str], rows: list[list]) -> None:
        """A few rows (sample generations) as a W&B table; the JSONL files on disk hold them all."""
        if self._wandb is not None and rows:
            import wandb

            self._wandb.log({key: wandb.Table(columns=columns, data=redact(rows))}, step=step)

    def close(self) -> None:
        self._file.close()
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_metrics(path: str | Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
