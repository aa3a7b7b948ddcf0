"""A driver that dies without a word (kill -9 of its process group, as when its node or ssh session goes)
resumes exactly from its last checkpoint: nothing admitted before it is trained twice or lost, and the
counts of the pieces add up to one uninterrupted run's."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from safetensors import safe_open

from alignrl.buffer import TRAINED, read_state
from alignrl.runtime.checkpoint import latest_checkpoint
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu

ALIGNRL = str(Path(sys.executable).parent / "alignrl")
TOTAL, INTERVAL, BATCH = 24, 4, 16


def _steps_logged(out: Path) -> int:
    path = out / "metrics.jsonl"
    rows = path.read_text().splitlines() if path.is_file() else []
    steps = []
    for line in rows:
        try:
            steps.append(json.loads(line)["step"])
        except (json.JSONDecodeError, KeyError):
            pass  # a line being written
    return max(steps, default=0)


def _start(config: str, out: Path, *flags: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.Popen([ALIGNRL, "train", config, "--out", str(out), *flags], env=env, cwd=out.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill_group_at(proc: subprocess.Popen, out: Path, step: int, extra_s: float) -> int:
    """SIGKILL the run's whole process group once it is past `step`; the last step logged by then."""
    deadline = time.monotonic() + 300
    while _steps_logged(out) < step:
        assert proc.poll() is None, f"the run ended before step {step}: {proc.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, f"step {step} not reached"
        time.sleep(0.05)
    time.sleep(extra_s)  # anywhere inside the step: generation, scoring, training, a checkpoint being written
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    logged = _steps_logged(out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the embedded Ray dies with its driver's group
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return logged
        time.sleep(0.5)
    raise AssertionError("processes of the killed run survived")


def _intact(checkpoint: Path) -> dict:
    """A checkpoint a crash left behind reads whole: controller state, buffer state, policy weights."""
    state = json.loads((checkpoint / "controller.json").read_text())["state"]
    weights = sorted(checkpoint.rglob("*.safetensors"))
    assert weights, f"no weights in {checkpoint}"
    for path in weights:
        with safe_open(str(path), "pt") as f:
            assert list(f.keys())
    return {"version": state["version"], "buffer": read_state(checkpoint)}


def test_kill_9_of_the_driver_at_random_moments_then_resume_is_exact(warm_policy, tmp_path):
    rng = random.Random(int(os.environ.get("ALIGNRL_CRASH_SEED", time.time_ns() % 1000)))
    cfg = e2e_config(warm_policy, runtime={"total_steps": TOTAL, "max_staleness": 1, "train_batch_size": BATCH},
                     checkpoint={"interval": INTERVAL, "keep_last": 10})
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True)))
    out = tmp_path / "run"
    resumed_from = []
    first, second = rng.randint(INTERVAL + 1, 2 * INTERVAL + 2), rng.randint(3 * INTERVAL + 1, 4 * INTERVAL + 2)
    for crash_step in (first, second):
        proc = _start(str(config), out, *(["--resume", str(out)] if resumed_from else []))
        logged = _kill_group_at(proc, out, crash_step, rng.uniform(0.0, 0.6))
        checkpoint = latest_checkpoint(out)
        before = _intact(checkpoint)
        # A step's checkpoint is written just before its metrics row.
        assert logged - INTERVAL < before["version"] <= logged + 1 and before["version"] % INTERVAL == 0
        resumed_from.append((checkpoint, before))

    proc = _start(str(config), out, "--resume", str(out))
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads((out / "summary.json").read_text())["steps"] == TOTAL

    final = read_state(latest_checkpoint(out))
    assert final["duplicated"] == 0  # a sample trained twice is counted (or refused as unknown, failing the run)
    for checkpoint, before in resumed_from:
        # What the checkpoint had trained stayed trained; its queue was trained or evicted, never lost.
        assert final["counts"][TRAINED] >= before["buffer"]["counts"][TRAINED]
    # The pieces add up to one run: TOTAL steps of BATCH examples each, every one trained exactly once.
    assert sum(final["trained_prompts"].values()) == TOTAL * BATCH
    assert sum(final["trained_staleness"].values()) == TOTAL * BATCH
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "loss" in r or "train/loss" in r]
    assert sorted(set(steps)) == list(range(1, TOTAL + 1)) and len(steps) == len(set(steps)), steps
