"""Weight-sync seconds against model size, on the runtime's own actors and code path.

For each size a fresh tiny Llama is placed as a real run would place it (learner group,
generator, servers); the sync the controller does after every step is then timed: learner rank 0
exports the full weights into object-store buckets, and the generator loads them (the object-store
path), or, with `runtime.weight_sync: broadcast`, the buckets go over the collective (NCCL on GPU).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from alignrl.config import load_config_dict
from alignrl.config.loader import merge_sections
from alignrl.data.example_schemas import PAIR_EXAMPLE_SCHEMA
from alignrl.models.tiny import make_tiny_model_dir
from alignrl.runtime.calls import call
from alignrl.runtime.session import RaySession
from alignrl.runtime.setup import place_actors


def _model_sections(model_dir: Path, name: str) -> dict:
    return {"model": {"path": str(model_dir), "sft_warmup": False}, "algorithm": {"name": "dpo"},
            "data": {"source": "online"}, "logging": {"run_name": name, "progress": False},
            "runtime": {"total_steps": 1}}


def _time_object_store(handles, cfg, repeats: int) -> tuple[list[float], list[float]]:
    rt = cfg.runtime
    export, load = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        version, buckets = handles.learners.weight_buckets(rt.sync_bucket_mb, rt.zero_stage)
        exported = time.perf_counter()
        call([g.load_weights.remote(version, buckets) for g in handles.generators], rt.sync_timeout_s,
             "weight-sync bench load")
        export.append(exported - started)
        load.append(time.perf_counter() - exported)
    return export, load


def _time_broadcast(handles, cfg, repeats: int) -> tuple[list[float], list[float]]:
    rt = cfg.runtime
    handles.learners.init_broadcast(handles.generators)
    export, load = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        version, layout = handles.learners.broadcast_layout(rt.sync_bucket_mb)
        exported = time.perf_counter()
        send = handles.learners.broadcast_send_async()
        call([send] + [g.receive_broadcast.remote(version, layout) for g in handles.generators],
             rt.sync_timeout_s, "weight-sync bench broadcast")
        export.append(exported - started)
        load.append(time.perf_counter() - exported)
    return export, load


def measure_weight_sync(base: dict, hidden_sizes: list[int], repeats: int, work: Path) -> list[dict]:
    """One row per model size: parameters, MB, median export / transfer+load / total seconds."""
    rows = []
    for hidden in hidden_sizes:
        model_dir = make_tiny_model_dir(work / f"hidden{hidden}", hidden_size=hidden, num_heads=max(1, hidden // 32),
                                        intermediate_size=3 * hidden)
        cfg = load_config_dict(merge_sections(base, _model_sections(model_dir, f"sync-h{hidden}")),
                               f"weight-sync bench, hidden {hidden}")
        with RaySession(cfg) as session:
            handles = place_actors(cfg, session, model_dir, None, PAIR_EXAMPLE_SCHEMA)
            params = handles.learners.setup(cfg.model_dump(mode="json", by_alias=True), str(model_dir), 1)[0]["params"]
            timer = _time_broadcast if cfg.runtime.weight_sync == "broadcast" else _time_object_store
            export, load = timer(handles, cfg, repeats)
        totals = [e + t for e, t in zip(export, load)]
        rows.append({"hidden_size": hidden, "params": params, "megabytes": params * 4 / 2**20,
                     "path": cfg.runtime.weight_sync, "export_seconds": statistics.median(export),
                     "load_seconds": statistics.median(load), "total_seconds": statistics.median(totals),
                     "gb_per_s": params * 4 / 2**30 / statistics.median(totals)})
    return rows
