"""Collective weight sync: the learner's rank 0 broadcasts flat buckets to every generator.

A process group of its own (never the learners' default group), over NCCL between GPUs and gloo
on CPU, so the same code is exercised on a laptop and on a cluster. Every collective waits with
a timeout; a peer that never joins is an error, not a hang.
"""

from __future__ import annotations

import datetime

import torch
import torch.distributed as dist

from alignrl.runtime.weight_sync import WeightBucket

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
    """What receivers need to allocate before the bytes arrive (sent once per sync through Ray)."""
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
