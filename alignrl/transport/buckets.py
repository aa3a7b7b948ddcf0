"""Flat weight buckets: many tensors packed into a few buffers, so a sync moves a handful of objects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass
class WeightBucket:
    """Several tensors of one dtype flattened into one buffer."""

    names: list[str]
    shapes: list[tuple[int, ...]]
    dtype: torch.dtype
    flat: torch.Tensor


def iter_buckets(state: dict[str, torch.Tensor], bucket_mb: float = 64.0) -> Iterator[WeightBucket]:
    """Group tensors of one dtype into flat buckets of at most `bucket_mb` (a larger tensor gets its own),
    one at a time: a consumer that ships each before taking the next holds one bucket's copy, not all."""
    limit = int(bucket_mb * 2**20)
    pending: dict[torch.dtype, list[tuple[str, torch.Tensor]]] = {}
    sizes: dict[torch.dtype, int] = {}

    def flush(dtype) -> WeightBucket | None:
        items = pending.pop(dtype, [])
        sizes.pop(dtype, None)
        if not items:
            return None
        flat = torch.cat([t.reshape(-1) for _, t in items])
        return WeightBucket([n for n, _ in items], [tuple(t.shape) for _, t in items], dtype, flat)

    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if sizes.get(tensor.dtype, 0) + nbytes > limit:
            bucket = flush(tensor.dtype)
            if bucket is not None:
                yield bucket
        pending.setdefault(tensor.dtype, []).append((name, tensor))
        sizes[tensor.dtype] = sizes.get(tensor.dtype, 0) + nbytes
    for dtype in list(pending):
        bucket = flush(dtype)
        if bucket is not None:
            yield bucket


def pack_buckets(state: dict[str, torch.Tensor], bucket_mb: float = 64.0) -> list[WeightBucket]:
    return list(iter_buckets(state, bucket_mb))


def unpack_bucket(bucket: WeightBucket) -> dict[str, torch.Tensor]:
    out, offset = {}, 0
    for name, shape in zip(bucket.names, bucket.shapes):
        n = 1
        for dim in shape:
            n *= dim
        out[name] = bucket.flat[offset: offset + n].view(shape)
        offset += n
    return out


def unpack_buckets(buckets: list[WeightBucket]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for bucket in buckets:
        state.update(unpack_bucket(bucket))
    return state


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """A content hash of the weights: equal digests mean bit-identical tensors."""
    h = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.dtype != torch.bfloat16
                 else tensor.view(torch.int16).numpy().tobytes())
    return h.hexdigest()
