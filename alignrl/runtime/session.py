"""Start an embedded local Ray (or join a cluster) for one run, and clean up what the run created."""

from __future__ import annotations

import json
import math
import os
import platform
import socket

import ray

from alignrl.config.schema import RunConfig

# Actors inherit these: quiet progress bars, no hub traffic from our own loading code paths.
ACTOR_ENV = {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TOKENIZERS_PARALLELISM": "false"}


class ClusterConnectError(RuntimeError):
    """`--ray-address` names a cluster this driver cannot join."""


def use_ray_token_auth() -> None:
    """Clusters from Ray 2.59 on require a token: let Ray's client find it where Ray keeps it
    ($RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token). alignrl never reads the token itself."""
    try:
        # Ray's own switch also refreshes its cached config: setting the variable alone is not seen by
        # a process that has already used Ray (e.g. validated a cluster config).
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token auth
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _token_found() -> bool:
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or os.path.isfile(path)


def probe_cluster(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, with the cause and the fix, where joining `address` cannot work: nothing listens
    there, the head refuses this driver's token (Ray itself would retry for about a minute), or the head
    runs another Ray or Python version than this driver."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return  # Ray resolves these itself (a job's driver, a Ray client server)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterConnectError(f"--ray-address {address!r} must look like HOST:PORT (the head's GCS port)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ClusterConnectError(f"nothing answers at {address} ({err.strerror or err}): start the head there "
                                  f"with `ray start --head --port={port}`, or fix --ray-address") from None
    try:
        from ray._raylet import GcsClient
        from ray.exceptions import AuthenticationError
    except ImportError:  # another Ray layout: let ray.init find out
        return
    try:
        gcs = GcsClient(address=address)
        metadata = gcs.internal_kv_get(b"CLUSTER_METADATA", b"cluster", timeout=timeout_s)
    except AuthenticationError:
        cause = "refused this driver's token" if _token_found() else "requires a token and this driver has none"
        raise ClusterConnectError(
            f"the Ray cluster at {address} {cause}: copy the head's token (`ray get-auth-token` on the head) "
            f"into $RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token") from None
    except Exception:  # noqa: BLE001 - anything else is ray.init's to report
        return
    _check_versions(address, metadata)


def _check_versions(address: str, metadata: bytes | None) -> None:
    """Ray's own version rule (same Ray, same Python), said in one line with the fix."""
    try:
        cluster = json.loads(metadata)
        theirs = (cluster["ray_version"], cluster["python_version"])
    except (TypeError, ValueError, KeyError):
        return  # no metadata recorded: ray.init decides
    try:
        from ray._private.utils import check_version_info
    except ImportError:
        return
    try:
        check_version_info(cluster, "this driver")
    except RuntimeError:
        mine = (ray.__version__, platform.python_version())
        raise ClusterConnectError(
            f"version mismatch with the Ray cluster at {address}: it runs Ray {theirs[0]} on Python {theirs[1]}, "
            f"this driver Ray {mine[0]} on Python {mine[1]}: install ray=={theirs[0]} on Python {theirs[1]} "
            f"here (or run from the head with `alignrl submit`)") from None


def required_cpus(cfg: RunConfig) -> float:
    r = cfg.resources
    return r.num_generators * r.generator_cpus + r.num_learners * r.learner_cpus + 2 * r.server_cpus


class RaySession:
    """Context manager: owns Ray only when it started it; always kills the actors it created."""

    def __init__(self, cfg: RunConfig, address: str | None = None):
        self.cfg, self.address = cfg, address
        self.owned = False
        self.actors: list = []
        self.groups: list = []

    def __enter__(self) -> RaySession:
        if not ray.is_initialized():
            local = self.address in (None, "local")
            kwargs = dict(address=self.address or "local", namespace=self.cfg.runtime.namespace, log_to_driver=True)
            if local:
                # Logical CPUs: a 2-core laptop still hosts 2 learners, a generator and the servers.
                # No dashboard: an embedded run serves nothing on the network.
                kwargs.update(num_cpus=max(math.ceil(required_cpus(self.cfg)), os.cpu_count() or 1),
                              include_dashboard=False, runtime_env={"env_vars": ACTOR_ENV})
            else:
                use_ray_token_auth()  # a cluster started with `ray start` has token auth on by default
                probe_cluster(self.address)
            # Joining a cluster (or a job's driver) keeps the job's own runtime_env (its working_dir).
            try:
                ray.init(**kwargs)
            except ConnectionError as err:
                raise ClusterConnectError(
                    f"could not join the Ray cluster at {self.address}: {err} (is `ray start --head` running "
                    f"there, and is its token in $RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token?)"
                ) from err
            self.owned = True
        return self

    def track(self, actor):
        self.actors.append(actor)
        return actor

    def __exit__(self, *exc) -> None:
        for group in self.groups:
            group.shutdown()
        for actor in self.actors:
            ray.kill(actor)
        if self.owned:
            ray.shutdown()
