"""Checkpoint layout and atomic writes: a crash mid-save never corrupts the last good checkpoint.

    OUT/checkpoints/step_000010/
        policy/          HF weights (safetensors), loadable by transformers and the generators
        deepspeed/       every rank's engine and optimizer state
        reference/       the reference weights when they differ from the initial policy
        buffer.arrow     queued examples (Arrow IPC), the exactly-once accounting in its schema metadata
        controller.json  versions, prompt cursor, round counter, config fingerprint
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Sections whose change makes a checkpoint meaningless to continue.
FINGERPRINT_SECTIONS = ("model", "data", "algorithm", "reward", "generation")


class CheckpointError(RuntimeError):
    pass


def config_fingerprint(cfg_json: dict) -> str:
    picked = {k: cfg_json.get(k) for k in FINGERPRINT_SECTIONS}
    rt = dict(cfg_json.get("runtime", {}))
    for volatile in ("total_steps", "rpc_timeout_s", "sync_timeout_s"):
        rt.pop(volatile, None)
    picked["runtime"] = rt
    return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:16]


def step_dir(root: Path, step: int) -> Path:
    return root / "checkpoints" / f"step_{step:06d}"


def staging_dir(root: Path, step: int) -> Path:
    path = root / "checkpoints" / f".step_{step:06d}.tmp"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def publish(staging: Path, final: Path, keep_last: int) -> Path:
    """Atomically move a fully written checkpoint into place, then prune old ones. An older copy of the
    same step is renamed out of the way first, so no moment exists without a whole step dir or its copy."""
    replaced = final.with_name(f".{final.name}.old")
    if final.exists():
        shutil.rmtree(replaced, ignore_errors=True)
        os.replace(final, replaced)
    os.replace(staging, final)
    shutil.rmtree(replaced, ignore_errors=True)
    kept = sorted(p for p in final.parent.glob("step_*") if p.is_dir())
    for old in kept[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


@contextmanager
def atomic_checkpoint(root: Path, step: int, keep_last: int) -> Iterator[Path]:
    """Yield a staging dir to fill; publish it only if everything was written.

    A failure (a full disk, a dead rank) removes the staging dir and names the last good
    checkpoint, which is left untouched.
    """
    staging = staging_dir(root, step)
    try:
        yield staging
    except (OSError, RuntimeError) as err:
        shutil.rmtree(staging, ignore_errors=True)
        try:
            last = f"the last good checkpoint {latest_checkpoint(root)} is intact"
        except CheckpointError:
            last = "no earlier checkpoint exists"
        raise CheckpointError(f"checkpoint of step {step} could not be written ({err}); {last}") from err
    publish(staging, step_dir(root, step), keep_last)


def write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def latest_checkpoint(path: str | Path) -> Path:
    """Accept a checkpoint dir itself, or a run dir holding checkpoints/step_*."""
    path = Path(path)
    if (path / "controller.json").is_file():
        return path
    steps = sorted(p for p in (path / "checkpoints").glob("step_*") if (p / "controller.json").is_file())
    if not steps:
        raise CheckpointError(f"no checkpoint found in {path} (expected controller.json or checkpoints/step_*)")
    return steps[-1]


def read_controller_state(ckpt: Path, cfg_json: dict) -> dict:
    state = json.loads((ckpt / "controller.json").read_text())
    if state["fingerprint"] != config_fingerprint(cfg_json):
        raise CheckpointError(
            f"checkpoint {ckpt} was written by a different config (model, data, algorithm, reward, generation or "
            f"runtime changed); resume with the config it was trained with"
        )
    return state
