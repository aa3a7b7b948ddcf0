"""A throwaway "remote host" for `ray up`: an sshd on 127.0.0.1:22 with key-only login.

The sshd runs in its own PID namespace, so whatever the launcher starts over ssh lives there:
`ray stop` (which `ray down` runs on the head) sees only that namespace's processes and leaves
every other Ray on this machine alone, and killing the namespace's first process reaps the rest.
Logins get their own HOME, so `ray up` writes its bootstrap files there and not into the real one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGES = {"sshd": "openssh-server", "rsync": "rsync", "unshare": "util-linux"}
SSHD = "/usr/sbin/sshd"


class HostUnavailable(RuntimeError):
    """This machine cannot host the loopback sshd; the message says why."""


def _have(tool: str) -> bool:
    return Path(SSHD).is_file() if tool == "sshd" else shutil.which(tool) is not None


def ensure_packages() -> None:
    """Install openssh-server and rsync from Debian's packages when they are missing."""
    missing = [PACKAGES[tool] for tool in PACKAGES if not _have(tool)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise HostUnavailable(f"needs {', '.join(missing)} and cannot install them (root with apt-get)")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, capture_output=True, timeout=600, check=False).returncode == 0:
        return
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600, check=False)
    retry = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    if retry.returncode != 0:
        raise HostUnavailable(f"`{' '.join(install)}` failed: {retry.stderr.strip()[-300:]}")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as sshd binds: lingering connections are fine
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class LoopbackHost:
    """A running loopback sshd; `key` logs in as `user`, whose login HOME is `home`."""

    root: Path
    key: Path
    user: str
    home: Path
    process: subprocess.Popen

    def ssh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run one command on the host through ssh with the login key (what the launcher does)."""
        return subprocess.run(
            ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", f"{self.user}@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout, check=False)

    def stop(self) -> None:
        """Kill the namespace's sshd (its init), which takes every process started over ssh with it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)


def start_host(path_prefix: Path) -> LoopbackHost:
    """Start the sshd; logins find `path_prefix` (a venv's bin) first on PATH, as on a host with it active."""
    ensure_packages()
    if os.geteuid() != 0:
        raise HostUnavailable("needs root to run sshd in its own PID namespace")
    if not _port_free(22):
        raise HostUnavailable("127.0.0.1:22 is taken (another sshd?); the launcher's ssh has no port setting")
    root = Path(tempfile.mkdtemp(prefix="alignrl-sshd-"))
    home = root / "home"
    home.mkdir()
    for name in ("host_key", "login_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    shutil.copy(root / "login_key.pub", root / "authorized_keys")
    # The launcher's remote shell is `bash --login` + `source ~/.bashrc`: the venv goes on PATH there.
    (home / ".bashrc").write_text(f'export PATH="{path_prefix}:$PATH"\n')
    (root / "sshd_config").write_text("\n".join([
        "Port 22", "ListenAddress 127.0.0.1", f"HostKey {root / 'host_key'}",
        f"AuthorizedKeysFile {root / 'authorized_keys'}", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no",
        "StrictModes no", f"PidFile {root / 'sshd.pid'}", f"SetEnv HOME={home}", ""]))
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation directory
    log = open(root / "sshd.log", "wb")  # noqa: SIM115 - sshd writes here for its whole life
    process = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", SSHD, "-D", "-e", "-f",
         str(root / "sshd_config")], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    host = LoopbackHost(root=root, key=root / "login_key", user="root", home=home, process=process)
    deadline = time.monotonic() + 30
    while host.ssh("true", timeout=10).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            log_tail = (root / "sshd.log").read_text(errors="replace")[-500:]
            host.stop()
            raise HostUnavailable(f"sshd did not accept the login key: {log_tail}")
        time.sleep(0.5)
    return host
