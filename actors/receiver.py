"""The receiving end of the weight transports an actor uses (made on first use, kept for its groups)."""

from __future__ import annotations

import torch


class TransportEnds:
    def __init__(self):
        self.transports: dict = {}

    def get(self, name: str):
        from alignrl.transport import make_transport

        if name not in self.transports:
            self.transports[name] = make_transport(name)
        return self.transports[name]

    def connect(self, name: str, addr: str, port: int, rank: int, world_size: int, timeout_s: float) -> None:
        self.get(name).connect(rank, world_size, addr, port, timeout_s)

    def receive(self, name: str, message, timeout_s: float) -> dict[str, torch.Tensor]:
        return self.get(name).receive(message, timeout_s)
