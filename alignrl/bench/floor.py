"""The bench's floor: the offline run's learner work in a bare DeepSpeed loop, with no Ray.

The same PolicyEngine class the learner ranks run, the same ranks and threads per rank, the same
kind of batches (consecutive dataset pairs) and the same work per step: each rank scores its
share with the frozen reference inside the step (the engine's learner-side reference), then takes
the DPO step. What the runtime adds on top of this loop (actors, RPCs, the replay buffer,
admission) is its overhead.
"""

from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import queue
import statistics
import time

import torch

from alignrl.config.schema import RunConfig
from alignrl.resources import free_port

RANK_TIMEOUT_S = 600.0  # the whole loop, start-up included; a stuck collective fails here


def floor_batches(cfg: RunConfig, policy_dir: str, steps: int) -> list[list[dict]]:
    """`steps` train batches of the offline run: consecutive dataset pairs, not yet scored by the reference."""
    from alignrl.data.offline import load_offline_pairs
    from alignrl.kinds.pairwise import PAIRWISE
    from alignrl.models.tiny import load_model_dir

    _, tokenizer = load_model_dir(policy_dir)
    pairs = load_offline_pairs(cfg, tokenizer, "train")
    n = cfg.runtime.train_batch_size
    batches = []
    for step in range(steps):
        chosen = [pairs[(step * n + i) % len(pairs)] for i in range(n)]
        samples = [s for i, pair in enumerate(chosen) for s in PAIRWISE.dataset_samples(pair, f"f{step}.{i}", 0)]
        batches.append(PAIRWISE.build(samples, None)[0].to_pylist())
    return batches


def _rank_main(rank: int, world: int, port: int, cfg_json: dict, policy_dir: str, batches: list[list[dict]],
               threads: int, results) -> None:
    import deepspeed

    from alignrl.config import load_config_dict
    from alignrl.learners.engine import PolicyEngine

    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(threads)
    try:
        deepspeed.init_distributed(dist_backend="gloo", auto_mpi_discovery=False,
                                   timeout=datetime.timedelta(seconds=RANK_TIMEOUT_S))
        cfg = load_config_dict(cfg_json)
        policy = PolicyEngine(cfg, policy_dir, rank, world, len(batches))  # its reference scores in the step
        share = cfg.runtime.train_batch_size // world
        seconds = []
        for rows in batches:
            torch.distributed.barrier()
            started = time.perf_counter()
            mine = rows[rank * share:(rank + 1) * share]
            policy.train_step(mine)
            torch.distributed.barrier()  # a step ends when every rank's part has ended, as in the runtime
            seconds.append(time.perf_counter() - started)
        results.put((rank, seconds, None))
    except Exception as err:  # noqa: BLE001 - reported to the parent, which raises it
        results.put((rank, [], f"{type(err).__name__}: {err}"))
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def run_floor(cfg: RunConfig, policy_dir: str, steps: int) -> dict:
    """Time `steps` learner steps of the bare loop; the first is start-up and is not measured."""
    batches = floor_batches(cfg, policy_dir, steps)
    world = cfg.resources.num_learners
    threads = max(1, int(cfg.resources.learner_cpus))
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    cfg_json = cfg.model_dump(mode="json")
    cfg_json["learner"]["reference"] = "learner"  # each rank scores its share in the step, whatever the run does
    procs = [ctx.Process(target=_rank_main, daemon=True,
                         args=(r, world, port, cfg_json, str(policy_dir), batches, threads, results))
             for r in range(world)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + RANK_TIMEOUT_S
    by_rank: dict[int, list[float]] = {}
    try:
        while len(by_rank) < world:
            try:
                rank, seconds, error = results.get(timeout=1.0)
            except queue.Empty:
                dead = [r for r, p in enumerate(procs) if p.exitcode is not None and r not in by_rank]
                if dead:
                    raise RuntimeError(f"bare DeepSpeed loop: rank {dead[0]} exited with code "
                                       f"{procs[dead[0]].exitcode} before reporting") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the bare DeepSpeed loop did not finish {steps} steps in "
                                       f"{RANK_TIMEOUT_S:.0f}s") from None
                continue
            if error:
                raise RuntimeError(f"bare DeepSpeed loop, rank {rank}: {error}")
            by_rank[rank] = seconds
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    measured = by_rank[0][1:]
    step_s = statistics.fmean(measured)
    return {"steps": steps, "step_seconds": step_s, "samples_per_s": cfg.runtime.train_batch_size / step_s,
            "step_seconds_all": by_rank[0]}
