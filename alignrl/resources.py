"""Small placement helpers every layer shares: a resource bundle as Ray actor options, and a free port."""

from __future__ import annotations

import socket


def actor_resources(bundle: dict[str, float]) -> dict:
    """A bundle ({"CPU": 1, "GPU": 0.5, "gpu_worker": 1}) as Ray actor options."""
    custom = {k: v for k, v in bundle.items() if k not in ("CPU", "GPU")}
    return dict(num_cpus=bundle["CPU"], num_gpus=bundle.get("GPU", 0), resources=custom or None)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now on `host` ("" for every interface: a rendezvous other nodes reach)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
