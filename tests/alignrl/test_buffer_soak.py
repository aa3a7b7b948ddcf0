"""Slow-tier soak of the replay buffer's bookkeeping: a real ReplayBufferActor, with its crash snapshots on
disk, driven through the calls of a synchronous run (ingest a round, take a batch, commit it, read the stats)
for 10k steps. Its per-step time early and late in the run, and the actor's RSS, must stay flat.

    pytest -m slow tests/alignrl/test_buffer_soak.py -s    # prints the figures
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import pyarrow as pa
import pytest
import ray

PROMPTS, SAMPLES, PROMPT_SET = 16, 4, 2000  # a round: 16 prompts x 4 samples -> 16 pairs, 32 dropped


def _round(round_id: int, version: int):
    from alignrl.kinds.pairwise import PAIR_EXAMPLE_SCHEMA

    ids = [f"r{round_id}-{i}" for i in range(PROMPTS * SAMPLES)]
    rows = [dict(example_id=f"r{round_id}-p{p}", sample_ids=[ids[p * SAMPLES], ids[p * SAMPLES + 1]],
                 prompt_id=f"p{(round_id * PROMPTS + p) % PROMPT_SET}", policy_version=version, ref_version=0,
                 source="on", context_token_ids=[1] * 40, chosen_token_ids=[2] * 40, rejected_token_ids=[3] * 40,
                 chosen_reward=1.0, rejected_reward=0.0, ref_chosen=-1.0, ref_rejected=-2.0)
            for p in range(PROMPTS)]
    dropped = [ids[p * SAMPLES + k] for p in range(PROMPTS) for k in range(2, SAMPLES)]
    return ids, pa.Table.from_pylist(rows, schema=PAIR_EXAMPLE_SCHEMA), dropped


def soak(steps: int, window: int = 1000) -> dict:
    """Needs Ray initialised. Medians of the per-step buffer time over the first and last `window` steps."""
    import psutil

    from alignrl.actors.replay_buffer import ReplayBufferActor
    from alignrl.kinds.pairwise import PAIR_EXAMPLE_SCHEMA

    with tempfile.TemporaryDirectory(prefix="alignrl-soak-") as snapshots:
        buffer = ReplayBufferActor.remote(PAIR_EXAMPLE_SCHEMA, 0, snapshots)
        pid = ray.get(buffer.__ray_call__.remote(lambda actor: os.getpid()))
        seconds, rss_mb = [], {}
        for step in range(steps):
            ids, table, dropped = _round(step, step)
            started = time.perf_counter()
            ray.get(buffer.ingest.remote(ids, table, dropped, []))
            batch, _ = ray.get(buffer.take.remote(PROMPTS, step))
            ray.get(buffer.commit.remote(batch["batch_token"][0].as_py(), step, batch["example_id"].to_pylist()))
            stats = ray.get(buffer.stats.remote())
            seconds.append(time.perf_counter() - started)
            if step + 1 in (window, steps):
                rss_mb[step + 1] = psutil.Process(pid).memory_info().rss / 2**20
        ray.kill(buffer)
    window = min(window, steps // 2)
    first, last = statistics.median(seconds[:window]), statistics.median(seconds[-window:])
    return {"steps": steps, "first_ms": first * 1e3, "last_ms": last * 1e3, "ratio": last / first,
            "rss_mb": rss_mb, "admitted": stats["buffer/admitted"], "lost": stats["buffer/lost"]}



@pytest.mark.slow
def test_buffer_bookkeeping_is_flat_over_10k_steps(ray_cluster):
    result = soak(10_000)
    print(result)
    assert result["lost"] == 0 and result["admitted"] == 10_000 * PROMPTS * SAMPLES
    assert result["ratio"] < 1.2, result  # the last 1k steps cost within 20% of the first 1k
    assert result["rss_mb"][10_000] - result["rss_mb"][1000] < 30, result
