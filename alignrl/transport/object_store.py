"""`object_store`: bucketed Ray objects, fetched by each receiver. Works on any cluster, CPU or GPU."""

from __future__ import annotations

import ray
import torch

from alignrl.transport.base import register_transport
from alignrl.transport.buckets import iter_buckets, unpack_buckets


class ObjectStoreTransport:
    collective = False

    def connect(self, rank: int, world_size: int, addr: str, port: int, timeout_s: float) -> None:
        pass

    def prepare(self, state: dict[str, torch.Tensor], bucket_mb: float) -> list:
        return [ray.put(bucket) for bucket in iter_buckets(state, bucket_mb)]  # one bucket copy at a time

    def send(self, timeout_s: float) -> None:
        pass

    def receive(self, message: list, timeout_s: float) -> dict[str, torch.Tensor]:
        return unpack_buckets(ray.get(list(message), timeout=timeout_s))


register_transport("object_store", ObjectStoreTransport)
