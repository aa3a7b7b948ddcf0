"""`broadcast`: learner rank 0 broadcasts flat buckets to every generator in a group of their own.

NCCL between GPUs and gloo on CPU, so the same code runs on a laptop and on a cluster. The group
is never the learners' default one. Every collective waits with a timeout: a peer that never joins
is an error, not a hang. Only the bucket layout travels through Ray; the bytes go over the group.
"""

from __future__ import annotations

import datetime

import torch
import torch.distributed as dist

from alignrl.transport.base import register_transport
from alignrl.transport.buckets import WeightBucket, pack_buckets, unpack_buckets

DTYPES = {str(t): t for t in (torch.float32, torch.bfloat16, torch.float16, torch.int64, torch.int32, torch.uint8)}


def make_group(addr: str, port: int, rank: int, world_size: int, timeout_s: float, nccl: bool):
    """Rendezvous through a TCP store hosted by rank 0 (the learner) and build the group."""
    timeout = datetime.timedelta(seconds=timeout_s)
    store = dist.TCPStore(addr, port, world_size, is_master=rank == 0, timeout=timeout)
    if nccl:
        options = dist.ProcessGroupNCCL.Options()
        options._timeout = timeout
        return dist.ProcessGroupNCCL(store, rank, world_size, options)
    return dist.ProcessGroupGloo(store, rank, world_size, timeout)


def bucket_layout(buckets: list[WeightBucket]) -> list[dict]:
    """What receivers need to allocate before the bytes arrive."""
    return [{"names": b.names, "shapes": b.shapes, "dtype": str(b.dtype), "numel": b.flat.numel()} for b in buckets]


def _broadcast(group, tensor: torch.Tensor, timeout_s: float) -> None:
    options = dist.BroadcastOptions()
    options.rootRank = 0
    options.timeout = datetime.timedelta(seconds=timeout_s)
    group.broadcast([tensor], options).wait(datetime.timedelta(seconds=timeout_s))


def send_buckets(group, buckets: list[WeightBucket], device: torch.device, timeout_s: float) -> None:
    for bucket in buckets:
        _broadcast(group, bucket.flat.to(device).contiguous(), timeout_s)


def receive_buckets(group, layout: list[dict], device: torch.device, timeout_s: float) -> list[WeightBucket]:
    out = []
    for spec in layout:
        dtype = DTYPES[spec["dtype"]]
        flat = torch.empty(spec["numel"], dtype=dtype, device=device)
        _broadcast(group, flat, timeout_s)
        out.append(WeightBucket(spec["names"], [tuple(s) for s in spec["shapes"]], dtype, flat.cpu()))
    return out


def _device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class BroadcastTransport:
    collective = True

    def __init__(self):
        self.group = None
        self.outgoing: list[WeightBucket] = []

    def connect(self, rank: int, world_size: int, addr: str, port: int, timeout_s: float) -> None:
        self.group = make_group(addr, port, rank, world_size, timeout_s, torch.cuda.is_available())

    def _joined(self):
        if self.group is None:
            raise RuntimeError("broadcast weight transport used before its group was formed (connect)")
        return self.group

    def prepare(self, state: dict[str, torch.Tensor], bucket_mb: float) -> list[dict]:
        self.outgoing = pack_buckets(state, bucket_mb)
        return bucket_layout(self.outgoing)

    def send(self, timeout_s: float) -> None:
        send_buckets(self._joined(), self.outgoing, _device(), timeout_s)
        self.outgoing = []

    def receive(self, message: list[dict], timeout_s: float) -> dict[str, torch.Tensor]:
        return unpack_buckets(receive_buckets(self._joined(), message, _device(), timeout_s))


register_transport("broadcast", BroadcastTransport)
