"""Weight-sync seconds against model size, on the runtime's own actors and code path.

For each size a fresh tiny Llama is placed as a real run would place it (learner group,
generator, servers); the sync the controller does after every step is then timed: learner rank 0
packs the full weights for the configured transport and every generator receives and loads them,
through `start_weight_push`, the controller's own code: object-store buckets, or with
`runtime.weight_sync: broadcast` the collective (NCCL on GPU).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from alignrl.config import load_config_dict
from alignrl.config.loader import merge_sections
from alignrl.kinds.pairwise import PAIRWISE
from alignrl.models.tiny import make_tiny_model_dir
from alignrl.runtime.calls import call
from alignrl.runtime.controller import start_weight_push
from alignrl.runtime.session import RaySession
from alignrl.runtime.wiring import place_actors
from alignrl.transport import TRANSPORTS


def _model_sections(model_dir: Path, name: str) -> dict:
    return {"model": {"path": str(model_dir), "sft_warmup": False}, "algorithm": {"name": "dpo"},
            "data": {"source": "online"}, "logging": {"run_name": name, "progress": False},
            "runtime": {"total_steps": 1}}


def _time_pushes(handles, cfg, repeats: int) -> tuple[list[float], list[float]]:
    """The controller's own push (start_weight_push), `repeats` times: (export seconds, transfer + load seconds)."""
    rt = cfg.runtime
    if TRANSPORTS.get(rt.weight_sync).collective:
        handles.learners.connect_transport(rt.weight_sync, handles.generators)
    export, load = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        push = start_weight_push(handles, rt.weight_sync, rt.sync_bucket_mb, rt.zero_stage, rt.sync_timeout_s)
        exported = time.perf_counter()
        call(([push.send] if push.send is not None else []) + push.receives, rt.sync_timeout_s,
             "weight-sync bench push")
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
            handles = place_actors(cfg, session, model_dir, None, PAIRWISE.schema)
            params = handles.learners.setup(cfg.model_dump(mode="json", by_alias=True), str(model_dir), 1)[0]["params"]
            export, load = _time_pushes(handles, cfg, repeats)
        totals = [e + t for e, t in zip(export, load)]
        rows.append({"hidden_size": hidden, "params": params, "megabytes": params * 4 / 2**20,
                     "path": cfg.runtime.weight_sync, "export_seconds": statistics.median(export),
                     "load_seconds": statistics.median(load), "total_seconds": statistics.median(totals),
                     "gb_per_s": params * 4 / 2**30 / statistics.median(totals)})
    return rows
