"""Versioned, bucketed weight transfer from the learner to the generators."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch


@dataclass
class WeightBucket:
    """Several tensors flattened into one buffer, so a sync is a handful of objects, not one per parameter."""

    names: list[str]
    shapes: list[tuple[int, ...]]
    dtype: torch.dtype
    flat: torch.Tensor


def full_state_dict(engine) -> dict[str, torch.Tensor]:
    """Every parameter in full on this rank (gathered from ZeRO-3 shards when needed), detached on CPU."""
    module = engine.module
    if getattr(engine, "zero_optimization_stage", lambda: 0)() == 3:
        import deepspeed

        params = list(module.parameters())
        with deepspeed.zero.GatheredParameters(params, modifier_rank=None):
            return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def pack_buckets(state: dict[str, torch.Tensor], bucket_mb: float = 64.0) -> list[WeightBucket]:
    """Group tensors of one dtype into flat buckets of at most `bucket_mb` (a larger tensor gets its own)."""
    limit = int(bucket_mb * 2**20)
    buckets: list[WeightBucket] = []
    pending: dict[torch.dtype, list[tuple[str, torch.Tensor]]] = {}
    sizes: dict[torch.dtype, int] = {}

    def flush(dtype):
        items = pending.pop(dtype, [])
        sizes.pop(dtype, None)
        if items:
            flat = torch.cat([t.reshape(-1) for _, t in items])
            buckets.append(WeightBucket([n for n, _ in items], [tuple(t.shape) for _, t in items], dtype, flat))

    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if sizes.get(tensor.dtype, 0) + nbytes > limit:
            flush(tensor.dtype)
        pending.setdefault(tensor.dtype, []).append((name, tensor))
        sizes[tensor.dtype] = sizes.get(tensor.dtype, 0) + nbytes
    for dtype in list(pending):
        flush(dtype)
    return buckets


def unpack_bucket(bucket: WeightBucket) -> dict[str, torch.Tensor]:
    out, offset = {}, 0
    for name, shape in zip(bucket.names, bucket.shapes):
        n = 1
        for dim in shape:
            n *= dim
        out[name] = bucket.flat[offset: offset + n].view(shape)
        offset += n
    return out


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """A content hash of the weights: equal digests mean bit-identical tensors."""
    h = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.dtype != torch.bfloat16
                 else tensor.view(torch.int16).numpy().tobytes())
    return h.hexdigest()
