"""`alignrl submit / jobs / logs / stop` against a real Ray head whose job server listens on loopback."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from alignrl.launch import jobs
from alignrl.launch.cli import main
from tests.conftest import (
    agent_port_flags,
    e2e_job_file,
    free_port,
    submit_tiny_job,
    wait_for_job_server,
)

pytestmark = pytest.mark.cpu


@pytest.fixture(scope="module")
def ray_head(ray_head_addresses):
    return ray_head_addresses[0]


@pytest.fixture(scope="module")
def ray_head_addresses():
    """`ray start --head --block` in its own process group; stopped by pid, never with `ray stop`.
    Yields (job server address, GCS address). Ray 2.60 heads have token authentication on."""
    port, dash = free_port(), free_port()
    temp_dir = tempfile.mkdtemp(prefix="alignrl-head-")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={port}",
         "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=5", f"--temp-dir={temp_dir}",
         "--include-dashboard=true", *agent_port_flags()],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"http://127.0.0.1:{dash}"
    try:
        wait_for_job_server(address, head, timeout_s=120)
    except Exception:
        os.killpg(head.pid, signal.SIGTERM)
        raise
    yield address, f"127.0.0.1:{port}"
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    shutil.rmtree(temp_dir, ignore_errors=True)


def test_submit_runs_a_training_job_and_streams_its_logs(ray_head, warm_policy, tmp_path, capsys, repo_root,
                                                         monkeypatch):
    monkeypatch.chdir(repo_root)
    job_id, _ = submit_tiny_job(ray_head, warm_policy, tmp_path, capsys)
    assert main(["jobs", "--address", ray_head]) == 0 and job_id in capsys.readouterr().out
    assert main(["logs", job_id, "--address", ray_head]) == 0
    assert "held-out reward" in capsys.readouterr().out


def test_stop_ends_a_running_job(ray_head, warm_policy, tmp_path, capsys, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    job_id = jobs.submit(e2e_job_file(tmp_path, warm_policy, 10_000), [], ray_head, str(tmp_path / "long"))
    assert main(["stop", job_id, "--address", ray_head]) == 0
    assert f"job {job_id}: STOPPED" in capsys.readouterr().out


def test_a_bad_config_is_refused_before_submission(ray_head, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("runtime:\n  max_stalenes: 0\n")
    assert main(["submit", str(bad), "--address", ray_head]) == 2
    assert "runtime.max_stalenes: unknown key" in capsys.readouterr().err
    assert jobs.train_entrypoint("c.yaml", ["a.b=1"], None) == "alignrl train c.yaml --set a.b=1 --ray-address auto"


def test_train_joins_a_token_authenticated_cluster_by_its_address(ray_head_addresses, warm_policy, tmp_path):
    """`alignrl train --ray-address HOST:PORT` as a user runs it after `ray start --head`, with no
    RAY_AUTH_MODE set by hand: the driver finds the head's token where Ray keeps it."""
    _, gcs = ray_head_addresses
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    out = tmp_path / "joined"
    run = subprocess.run([str(Path(sys.executable).parent / "alignrl"), "train", e2e_job_file(tmp_path, warm_policy, 2),
                          "--out", str(out), "--ray-address", gcs], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Unauthenticated" not in run.stderr
    assert json.loads((out / "summary.json").read_text())["steps"] == 2


@pytest.mark.parametrize("case", ["wrong token", "no token", "nothing listening"])
def test_a_cluster_that_cannot_be_joined_fails_in_seconds_with_the_cause(case, ray_head_addresses, warm_policy,
                                                                          tmp_path):
    _, gcs = ray_head_addresses
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    expected = {"wrong token": "refused this driver's token", "no token": "requires a token and this driver has none",
                "nothing listening": "nothing answers at 127.0.0.1:"}[case]
    if case == "wrong token":
        env["RAY_AUTH_TOKEN"] = "0" * 32
    if case == "no token":
        env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token
        env.pop("RAY_AUTH_TOKEN_PATH", None)
    address = f"127.0.0.1:{free_port()}" if case == "nothing listening" else gcs
    started = time.monotonic()
    run = subprocess.run([str(Path(sys.executable).parent / "alignrl"), "train", e2e_job_file(tmp_path, warm_policy, 2),
                          "--out", str(tmp_path / "run"), "--ray-address", address], env=env, capture_output=True,
                         text=True, timeout=120)
    seconds = time.monotonic() - started
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert run.returncode == 1 and len(errors) == 1 and expected in errors[0], run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert seconds < 30, f"took {seconds:.0f}s (Ray alone retries for about a minute)"


def test_a_head_of_another_ray_version_is_named_with_the_fix(ray_head_addresses, warm_policy, tmp_path):
    """The real head, made to record another Ray version (what a head started from an older install records);
    the driver says so in one line within seconds instead of Ray's multi-line mismatch traceback."""
    from ray._raylet import GcsClient

    from alignrl.runtime.session import use_ray_token_auth

    _, address = ray_head_addresses
    use_ray_token_auth()
    gcs = GcsClient(address=address)
    key, namespace = b"CLUSTER_METADATA", b"cluster"
    recorded = gcs.internal_kv_get(key, namespace, timeout=10)
    metadata = json.loads(recorded)
    gcs.internal_kv_put(key, json.dumps({**metadata, "ray_version": "2.41.0"}).encode(), True, namespace, timeout=10)
    try:
        started = time.monotonic()
        run = subprocess.run([str(Path(sys.executable).parent / "alignrl"), "train",
                              e2e_job_file(tmp_path, warm_policy, 2), "--out", str(tmp_path / "run"),
                              "--ray-address", address], capture_output=True, text=True, timeout=120,
                             env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
        seconds = time.monotonic() - started
    finally:
        gcs.internal_kv_put(key, recorded, True, namespace, timeout=10)  # later tests join this head again
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert run.returncode == 1 and len(errors) == 1, run.stderr[-3000:]
    assert "version mismatch" in errors[0] and "Ray 2.41.0" in errors[0] and "install ray==2.41.0" in errors[0]
    assert "Traceback" not in run.stderr and seconds < 30
