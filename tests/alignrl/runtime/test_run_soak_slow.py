"""Slow-tier soak of a whole run: 10k steps of a tiny synchronous online DPO run (real generator, reward,
reference, buffer and DeepSpeed learner). The driver's time in replay-buffer calls per step, from the run's own
`perf/buffer_seconds`, must be as cheap late in the run as early, and neither the buffer actor nor the driver
may grow.

    pytest -m slow tests/alignrl/runtime/test_run_soak_slow.py -s    # prints the figures
"""

from __future__ import annotations

import json
import os
import statistics
import threading

import psutil
import pytest
import ray

from alignrl.config import load_config_dict
from alignrl.metrics import read_metrics
from alignrl.runtime.train import run_training

pytestmark = [pytest.mark.slow, pytest.mark.cpu, pytest.mark.timeout(3600)]

STEPS, WINDOW, PAIRS = 10_000, 1000, 4


def _soak_config():
    return load_config_dict({
        "model": {"path": None, "sft_warmup": False,
                  "tiny": {"hidden_size": 32, "num_layers": 1, "num_heads": 1, "intermediate_size": 64}},
        "data": {"tasks": ["digit_sort"], "n_train": 2000, "n_heldout": 8},
        "algorithm": {"name": "iterative_dpo", "samples_per_prompt": 2, "steps_per_iteration": 10 * STEPS},
        # The untrained policy's answers are random: a reward that never ties keeps every round making pairs.
        "reward": {"kind": "function", "function": "alignrl.testing:distinct_reward"},
        "resources": {"num_generators": 1, "num_learners": 1},
        "generation": {"backend": "hf", "max_new_tokens": 4, "truncated": "keep"},
        "runtime": {"max_staleness": 0, "total_steps": STEPS, "prompts_per_step": PAIRS,
                    "train_batch_size": PAIRS, "micro_batch_size": PAIRS},
        "eval": {"interval": 10 * STEPS, "num_prompts": 8, "max_new_tokens": 4},
        "logging": {"wandb_mode": "disabled"},
        "checkpoint": {"interval": 0},
    })


class _RssProbe(threading.Thread):
    """Reads the buffer actor's and the driver's RSS once the run passes each of `at` steps."""

    def __init__(self, metrics_file, at: tuple[int, ...]):
        super().__init__(daemon=True)
        self.metrics_file, self.at, self.rss_mb = metrics_file, list(at), {}
        self.done = threading.Event()

    def _buffer_pid(self) -> int | None:
        for entry in ray.util.list_named_actors(all_namespaces=True):
            if entry["name"] == "replay-buffer-0":
                actor = ray.get_actor(entry["name"], namespace=entry["namespace"])
                return ray.get(actor.__ray_call__.remote(lambda _: os.getpid()), timeout=30)
        return None

    def run(self) -> None:
        while self.at and not self.done.wait(1.0):
            if not self.metrics_file.exists():
                continue
            with open(self.metrics_file) as f:
                steps = sum(1 for _ in f)
            if steps > self.at[0] and (pid := self._buffer_pid()) is not None:
                self.rss_mb[self.at.pop(0)] = {"buffer": psutil.Process(pid).memory_info().rss / 2**20,
                                               "driver": psutil.Process().memory_info().rss / 2**20}


def test_a_10k_step_run_keeps_buffer_time_and_memory_flat(ray_cluster, tmp_path):
    out = tmp_path / "soak"
    probe = _RssProbe(out / "metrics.jsonl", at=(WINDOW, STEPS - 100))
    probe.start()
    try:
        run_training(_soak_config(), out)
    finally:
        probe.done.set()
        probe.join()
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "perf/buffer_seconds" in r]
    buffer_ms = [r["perf/buffer_seconds"] * 1e3 for r in rows]
    step_ms = [r["perf/step_seconds"] * 1e3 for r in rows]
    first, last = statistics.median(buffer_ms[:WINDOW]), statistics.median(buffer_ms[-WINDOW:])
    final = rows[-1]
    report = {"steps": len(rows), "buffer_ms_first_1k": first, "buffer_ms_last_1k": last, "ratio": last / first,
              "step_ms_first_1k": statistics.median(step_ms[:WINDOW]),
              "step_ms_last_1k": statistics.median(step_ms[-WINDOW:]), "rss_mb": probe.rss_mb,
              "admitted": final["buffer/admitted"], "trained": final["buffer/trained"], "lost": final["buffer/lost"]}
    print(json.dumps(report))
    assert len(rows) == STEPS
    assert final["buffer/lost"] == 0 and final["buffer/duplicated"] == 0
    assert final["buffer/trained"] == 2 * PAIRS * STEPS  # every step trained a full batch of pairs
    assert report["ratio"] < 1.2, report  # the last 1k steps' buffer time is within 20% of the first 1k
    grown = {who: probe.rss_mb[STEPS - 100][who] - probe.rss_mb[WINDOW][who] for who in ("buffer", "driver")}
    assert grown["buffer"] < 30 and grown["driver"] < 100, report
