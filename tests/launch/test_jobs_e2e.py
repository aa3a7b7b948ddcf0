"""`alignrl submit / jobs / logs / stop` against a real Ray head whose job server listens on loopback."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from launch import jobs
from launch.cli import main
from tests.conftest import e2e_config

pytestmark = pytest.mark.cpu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """`ray start --head --block` in its own process group; stopped by pid, never with `ray stop`."""
    port, dash = _free_port(), _free_port()
    # Its own agent ports: the session's local cluster may already hold Ray's defaults.
    agent_ports = [f"--{flag}={_free_port()}" for flag in (
        "dashboard-agent-listen-port", "dashboard-agent-grpc-port", "runtime-env-agent-port", "metrics-export-port",
        "ray-client-server-port")]
    temp_dir = tempfile.mkdtemp(prefix="alignrl-head-")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={port}",
         "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=5", f"--temp-dir={temp_dir}",
         "--include-dashboard=true", *agent_ports],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"http://127.0.0.1:{dash}"
    deadline = time.monotonic() + 120
    while True:
        try:
            jobs.list_jobs(address)
            break
        except Exception:  # noqa: BLE001 - the job server is still starting
            if time.monotonic() > deadline or head.poll() is not None:
                os.killpg(head.pid, signal.SIGTERM)
                raise
            time.sleep(1.0)
    yield address
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    shutil.rmtree(temp_dir, ignore_errors=True)


def _config(tmp_path, warm_policy, steps):
    cfg = e2e_config(warm_policy, runtime={"total_steps": steps})
    path = tmp_path / f"job-{steps}.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True)))
    return str(path)


def test_submit_runs_a_training_job_and_streams_its_logs(ray_head, warm_policy, tmp_path, capsys, repo_root,
                                                         monkeypatch):
    monkeypatch.chdir(repo_root)  # the job's working_dir is the checkout, as for a user
    out = tmp_path / "out"
    code = main(["submit", _config(tmp_path, warm_policy, 3), "--address", ray_head, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed[-2000:]
    job_id = printed.split("submitted job ", 1)[1].split()[0]
    assert "iterative_dpo: held-out reward" in printed and f"job {job_id}: SUCCEEDED" in printed
    assert (out / "metrics.jsonl").is_file() and (out / "checkpoints" / "step_000003").is_dir()
    assert main(["jobs", "--address", ray_head]) == 0 and job_id in capsys.readouterr().out
    assert main(["logs", job_id, "--address", ray_head]) == 0
    assert "held-out reward" in capsys.readouterr().out


def test_stop_ends_a_running_job(ray_head, warm_policy, tmp_path, capsys, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    job_id = jobs.submit(_config(tmp_path, warm_policy, 10_000), [], ray_head, str(tmp_path / "long"))
    assert main(["stop", job_id, "--address", ray_head]) == 0
    assert f"job {job_id}: STOPPED" in capsys.readouterr().out


def test_a_bad_config_is_refused_before_submission(ray_head, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("runtime:\n  max_stalenes: 0\n")
    assert main(["submit", str(bad), "--address", ray_head]) == 2
    assert "runtime.max_stalenes: unknown key" in capsys.readouterr().err
    assert jobs.train_entrypoint("c.yaml", ["a.b=1"], None) == "alignrl train c.yaml --set a.b=1 --ray-address auto"
