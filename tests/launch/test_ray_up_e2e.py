"""`ray up` for real: the shipped local-provider config brings up a head over ssh to 127.0.0.1,
`alignrl submit` runs a training job through `ray dashboard`'s tunnel, and `ray down` cleans up.

The host is a loopback sshd in its own PID namespace (tests/launch/loopback_host.py), so the
`ray stop` that the launcher runs on the head cannot touch any other Ray on this machine; the
test checks that too, with the session's own cluster as the bystander.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import ray
import yaml

from tests.conftest import (
    agent_port_flags,
    free_port,
    submit_tiny_job,
    wait_for_job_server,
)
from tests.launch.loopback_host import HostUnavailable, start_host

pytestmark = pytest.mark.cpu

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def host():
    try:
        loopback = start_host(VENV_BIN)
    except HostUnavailable as exc:
        pytest.skip(f"no loopback ssh host: {exc}")
    yield loopback
    loopback.stop()


def _launcher_env() -> dict:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    env.pop("RAY_ADDRESS", None)
    return env


def _launcher(args: list[str], repo_root: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "ray"), *args], cwd=repo_root, env=_launcher_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _cluster_config(repo_root: Path, host, dashboard_port: int, work: Path) -> tuple[Path, str]:
    """configs/cluster.local.yaml aimed at the loopback host; only what this box needs is changed."""
    config = yaml.safe_load((repo_root / "configs" / "cluster.local.yaml").read_text())
    name = f"alignrl-loopback-{uuid.uuid4().hex[:6]}"
    config["cluster_name"] = name
    config["provider"].update(head_ip="127.0.0.1", worker_ips=[])
    config.update(min_workers=0, max_workers=0)
    config["auth"] = {"ssh_user": host.user, "ssh_private_key": str(host.key)}
    # The host already has the test's environment on PATH: check the synced checkout imports there
    # instead of pip-installing the gpu extra.
    config["setup_commands"] = ["test -f ~/alignrl/pyproject.toml", "python -c 'import alignrl, ray'"]
    # Ports of its own (other Ray clusters may run here), a short temp dir (socket path limit).
    temp_dir = tempfile.mkdtemp(prefix="alignrl-up-")
    extra = [f"--dashboard-port={dashboard_port}", f"--temp-dir={temp_dir}", "--num-cpus=6", *agent_port_flags()]
    config["head_start_ray_commands"] = [
        re.sub(r"--port=\d+", f"--port={free_port()}", cmd) + " " + " ".join(extra) if "ray start" in cmd else cmd
        for cmd in config["head_start_ray_commands"]]
    path = work / "cluster.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, name


def test_ray_up_submit_and_down_on_a_loopback_host(host, ray_cluster, warm_policy, repo_root, tmp_path, capsys,
                                                   monkeypatch):
    remote_port, local_port = free_port(), free_port()
    config, name = _cluster_config(repo_root, host, remote_port, tmp_path)
    tunnel = None
    try:
        up = _launcher(["up", "-y", "--no-config-cache", str(config)], repo_root, timeout=300)
        assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
        # `ray up` synced the checkout and wrote its bootstrap files on the host, in the login HOME.
        assert (host.home / "alignrl" / "pyproject.toml").is_file()
        assert not (host.home / "alignrl" / ".git").exists()
        assert (host.home / "ray_bootstrap_config.yaml").is_file()

        # The job server listens on the head's loopback only; `ray dashboard` is the way in.
        tunnel = subprocess.Popen(
            [str(VENV_BIN / "ray"), "dashboard", "--port", str(local_port), "--remote-port", str(remote_port),
             str(config)], cwd=repo_root, env=_launcher_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        address = f"http://127.0.0.1:{local_port}"
        wait_for_job_server(address, tunnel, timeout_s=60)

        monkeypatch.chdir(repo_root)
        submit_tiny_job(address, warm_policy, tmp_path, capsys)
    finally:
        if tunnel is not None:
            os.killpg(tunnel.pid, signal.SIGTERM)
            tunnel.wait(30)
        down = _launcher(["down", "-y", str(config)], repo_root, timeout=180)
        for suffix in ("state", "lock"):  # the launcher's local bookkeeping of this cluster
            Path(tempfile.gettempdir(), "ray", f"cluster-{name}.{suffix}").unlink(missing_ok=True)
    assert down.returncode == 0, (down.stdout + down.stderr)[-3000:]
    # `ray down` stopped the head's Ray processes on the host ...
    left = host.ssh("pgrep -x 'gcs_server|raylet' || true")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stdout
    # ... and nothing else: the session's own cluster still runs tasks.
    assert ray.get(ray.remote(lambda: "alive").remote(), timeout=60) == "alive"
