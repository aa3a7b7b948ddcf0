"""Ctrl-C and SIGTERM on a real `alignrl train` process: a clean stop, the exit code, the resume line.

Each test starts the CLI in its own session (its own embedded Ray) and signals it from outside, the
way a terminal (the whole foreground group) or a scheduler (the driver's pid) does.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu

ALIGNRL = str(Path(sys.executable).parent / "alignrl")
RESUME_LINE = re.compile(r"stopped by (SIG\w+) after step (\d+); resume from (step_\d+) with: (alignrl train .+)$")


def _config_file(tmp_path: Path, warm_policy, **sections) -> str:
    cfg = e2e_config(warm_policy, **sections)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True)))
    return str(path)


def _start(args: list[str], tmp_path: Path, **env) -> subprocess.Popen:
    environ = {**os.environ, **env}
    environ.pop("RAY_ADDRESS", None)  # its own embedded Ray, not the test session's cluster
    return subprocess.Popen([ALIGNRL, "train", *args], cwd=tmp_path, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _steps_logged(out: Path) -> int:
    path = out / "metrics.jsonl"
    if not path.is_file():
        return 0
    steps = [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]
    return max(steps, default=0)


def _wait_for_step(proc: subprocess.Popen, out: Path, step: int, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while _steps_logged(out) < step:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before step {step}: {proc.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"step {step} not reached within {timeout_s}s")
        time.sleep(0.2)


def _finish(proc: subprocess.Popen, timeout_s: float) -> tuple[int, str, float]:
    """Wait for the process; return its exit code, its stderr and how long it took to exit."""
    started = time.monotonic()
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"still running {timeout_s}s after the signal")
    return proc.returncode, err, time.monotonic() - started


def _group_is_gone(pgid: int, timeout_s: float = 30) -> bool:
    """Every process of the run's group (driver, Ray's daemons, the actors) has exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    os.killpg(pgid, signal.SIGKILL)
    return False


def _resume_line(stderr: str) -> re.Match:
    lines = [line for line in stderr.splitlines() if line.startswith("stopped by ")]
    assert len(lines) == 1, stderr[-3000:]
    match = RESUME_LINE.match(lines[0])
    assert match, lines[0]
    return match


def test_ctrl_c_stops_within_seconds_and_prints_the_resume_command(warm_policy, tmp_path):
    config = _config_file(tmp_path, warm_policy, runtime={"total_steps": 400}, checkpoint={"interval": 2})
    out = tmp_path / "run"
    proc = _start([config, "--out", str(out)], tmp_path)
    _wait_for_step(proc, out, 3)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    rc, err, seconds = _finish(proc, timeout_s=60)
    print(f"SIGINT to exit: {seconds:.1f}s")
    assert rc == 130, err[-3000:]
    assert seconds < 30, f"took {seconds:.1f}s to stop"
    assert "Traceback" not in err, err[-3000:]
    match = _resume_line(err)
    name, step, checkpoint, command = match.groups()
    assert name == "SIGINT" and int(step) >= 3
    # Without --checkpoint-on-stop the run resumes from the last periodic checkpoint, which is whole.
    assert int(checkpoint.split("_")[1]) == int(step) // 2 * 2 or int(checkpoint.split("_")[1]) == int(step) - 1
    assert (out / "checkpoints" / checkpoint / "controller.json").is_file()
    assert f"--resume {out / 'checkpoints' / checkpoint}" in command
    assert _group_is_gone(proc.pid), "processes of the stopped run are still alive"


def test_sigterm_with_checkpoint_on_stop_saves_the_step_it_reports_and_the_printed_command_resumes(
        warm_policy, tmp_path):
    config = _config_file(tmp_path, warm_policy, runtime={"total_steps": 400}, checkpoint={"interval": 0})
    out = tmp_path / "run"
    proc = _start([config, "--out", str(out), "--checkpoint-on-stop"], tmp_path)
    _wait_for_step(proc, out, 3)
    os.kill(proc.pid, signal.SIGTERM)  # what a scheduler or `kill` does: the driver only
    rc, err, seconds = _finish(proc, timeout_s=90)
    print(f"SIGTERM with --checkpoint-on-stop to exit: {seconds:.1f}s")
    assert rc == 143, err[-3000:]
    assert "SIGTERM received" not in err and "Traceback" not in err, err[-3000:]
    name, step, checkpoint, command = _resume_line(err).groups()
    step = int(step)
    assert name == "SIGTERM" and checkpoint == f"step_{step:06d}"
    state = json.loads((out / "checkpoints" / checkpoint / "controller.json").read_text())["state"]
    assert state["version"] == step
    assert _group_is_gone(proc.pid)

    # The printed command, run as printed, continues the run (two more steps here, not 400).
    args = shlex.split(command)[2:] + ["--set", f"runtime.total_steps={step + 2}"]
    resumed = _start(args, tmp_path)
    rc, err, _ = _finish(resumed, timeout_s=300)
    assert rc == 0, err[-3000:]
    assert json.loads((out / "summary.json").read_text())["steps"] == step + 2


def test_a_second_ctrl_c_exits_at_once_while_the_first_is_still_settling(warm_policy, tmp_path):
    """The first stop waits for in-flight work (here a judge that stopped answering); the second does not."""
    cue = tmp_path / "hang"
    config = _config_file(tmp_path, warm_policy, runtime={"total_steps": 400, "rpc_timeout_s": 300},
                          reward={"function": "alignrl.testing:reward_that_hangs_on_cue"})
    out = tmp_path / "run"
    proc = _start([config, "--out", str(out), "--checkpoint-on-stop"], tmp_path, ALIGNRL_HANG_FILE=str(cue))
    _wait_for_step(proc, out, 2)
    cue.touch()  # rounds scored from now on never finish: settling would wait out the RPC timeout
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(2)
    assert proc.poll() is None, "the first Ctrl-C should still be settling the in-flight round"
    os.killpg(proc.pid, signal.SIGINT)
    rc, err, seconds = _finish(proc, timeout_s=30)
    print(f"second SIGINT to exit: {seconds:.1f}s")
    assert rc == 130 and seconds < 10, (rc, seconds, err[-3000:])
    assert _group_is_gone(proc.pid)


def test_sigterm_to_the_driver_alone_lands_while_it_waits_on_a_long_call(warm_policy, tmp_path):
    """A scheduler signals the driver's pid only, and real-model calls last minutes: the stop must not wait
    for the call (here a round whose judge stopped answering, so its wait would last the RPC timeout)."""
    cue = tmp_path / "hang"
    config = _config_file(tmp_path, warm_policy, runtime={"total_steps": 400, "rpc_timeout_s": 300},
                          reward={"function": "alignrl.testing:reward_that_hangs_on_cue"})
    out = tmp_path / "run"
    proc = _start([config, "--out", str(out)], tmp_path, ALIGNRL_HANG_FILE=str(cue))
    _wait_for_step(proc, out, 2)
    cue.touch()
    time.sleep(5)  # the driver is now blocked on the hung round
    os.kill(proc.pid, signal.SIGTERM)
    rc, err, seconds = _finish(proc, timeout_s=60)
    print(f"SIGTERM to the driver alone, to exit: {seconds:.1f}s")
    assert rc == 143 and seconds < 30, (rc, seconds, err[-3000:])
    assert [line for line in err.splitlines() if line.startswith("stopped by SIGTERM after step ")], err[-3000:]
    assert "Traceback" not in err and "SystemError" not in err
    assert _group_is_gone(proc.pid)
