"""What `alignrl train` prints: quiet by default (bar, one line per eval, the final line), all of it with --verbose."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import e2e_job_file

pytestmark = pytest.mark.cpu

ALIGNRL = str(Path(sys.executable).parent / "alignrl")
NOISE = ("Setting accelerator to CPU", "Token authentication is enabled", "Started a local Ray instance",
         "LearnerWorker", "GeneratorActor", "Writing model shards", "Loading weights")


def _train(tmp_path: Path, warm_policy, *flags: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    run = subprocess.run([ALIGNRL, "train", e2e_job_file(tmp_path, warm_policy, 2), "--out", str(out), *flags],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return run, out


def test_a_run_is_quiet_and_its_noise_is_in_the_run_log(warm_policy, tmp_path):
    run, out = _train(tmp_path, warm_policy)
    terminal = run.stdout + run.stderr
    assert [n for n in NOISE if n in terminal] == [], terminal[-3000:]
    assert "step 0: held-out reward " in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("iterative_dpo: held-out reward ")
    log = (out / "logs" / "run.log").read_text()
    assert "(LearnerWorker pid=" in log and "Setting accelerator to CPU" in log
    assert "Started a local Ray instance" in log


def test_verbose_prints_the_libraries_and_the_actors(warm_policy, tmp_path):
    run, out = _train(tmp_path, warm_policy, "--verbose")
    assert "LearnerWorker pid=" in run.stdout + run.stderr
    assert not (out / "logs" / "run.log").exists()
