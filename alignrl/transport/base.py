"""The weight-transport seam: how learner rank 0's weights reach the generators after a step.

One transport object lives on each side of a push. Learner rank 0 calls `prepare` (pack the
weights; returns the message that travels to the receivers as an ordinary Ray call argument) and,
for collective transports, `send`, which must run while every receiver sits in `receive`.
Restores of a single restarted actor and reference resets always go through `SNAPSHOT_TRANSPORT`
(point to point), whatever the configured transport.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import torch

from alignrl.registry import Registry


class WeightTransport(Protocol):
    collective: ClassVar[bool]  # send() must run alongside the receivers, in a group formed by connect()

    def connect(self, rank: int, world_size: int, addr: str, port: int, timeout_s: float) -> None:
        """Join the transport's group (rank 0 is the learner); a no-op for point-to-point transports."""

    def prepare(self, state: dict[str, torch.Tensor], bucket_mb: float) -> Any:
        """Learner rank 0: pack `state`; returns the message every receiver gets."""

    def send(self, timeout_s: float) -> None:
        """Learner rank 0: move what `prepare` packed (collective transports only)."""

    def receive(self, message: Any, timeout_s: float) -> dict[str, torch.Tensor]:
        """Receiver: the full weights, from the message `prepare` returned."""


TRANSPORTS: Registry[type] = Registry("weight transport", "register one with alignrl.transport.register_transport")
SNAPSHOT_TRANSPORT = "object_store"


def register_transport(name: str, cls: type) -> type:
    return TRANSPORTS.register(name, cls)


def make_transport(name: str) -> WeightTransport:
    return TRANSPORTS.get(name)()


class TransportEnds:
    """The transports one process (a learner rank, a generator, the reference) uses, made on first use and kept,
    so a collective transport keeps the group its `connect` formed."""

    def __init__(self):
        self.transports: dict[str, WeightTransport] = {}

    def get(self, name: str) -> WeightTransport:
        if name not in self.transports:
            self.transports[name] = make_transport(name)
        return self.transports[name]
