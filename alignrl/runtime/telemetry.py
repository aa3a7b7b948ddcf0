"""Runtime metrics: throughput, idle fractions, sync time, staleness, rollout rewards."""

from __future__ import annotations

import time
from collections import Counter

from alignrl.metrics import MetricsSink


class Telemetry:
    """Accumulates events between learner steps and logs one row per step."""

    def __init__(self, sink: MetricsSink, n_generators: int, train_batch_size: int):
        self.sink, self.n_gen, self.batch = sink, max(1, n_generators), train_batch_size
        self.window_start = time.monotonic()
        self.paused = 0.0
        self.gen_tokens = 0
        self.gen_busy = 0.0
        self.learner_busy = 0.0
        self.sync_seconds = 0.0
        self.export_seconds = 0.0
        self.buffer_seconds = 0.0  # the driver's time in replay-buffer calls (flat in run length, see the soak)
        self.rollout_rewards: list[float] = []
        self.round_metrics: dict[str, list[float]] = {}  # algorithm diagnostics of the rounds since the last step
        self.learner_metrics: dict = {}
        self.last_loss = float("nan")
        self.total_tokens = 0
        self.total_learner_seconds = 0.0
        self.faults: Counter[str] = Counter()  # cumulative: retried calls across restarts, re-issued rounds
        self.drops: Counter[str] = Counter()  # cumulative: dropped samples by reason
        self.generated = self.clipped = 0  # generated samples since the last step, and those cut at the cap

    def on_rollout(self, samples: list[dict], round_metrics: dict | None = None, built=None) -> None:
        for key, value in (round_metrics or {}).items():
            self.round_metrics.setdefault(key, []).append(value)
        generated = [s for s in samples if s.get("behaviour_logprobs") is not None]
        self.generated += len(generated)
        self.clipped += sum(1 for s in generated if s.get("finished") is False)
        if built is not None:
            self.drops.update(built.reasons)
        tokens = sum(len(s["response_token_ids"]) for s in samples)
        self.gen_tokens += tokens
        self.total_tokens += tokens
        self.rollout_rewards.extend(s["reward"] for s in samples if s.get("reward") is not None)

    def on_generation(self, seconds: float) -> None:
        self.gen_busy += seconds

    def on_buffer(self, seconds: float) -> None:
        self.buffer_seconds += seconds

    def on_sync(self, seconds: float) -> None:
        self.sync_seconds = max(self.sync_seconds, seconds)

    def on_step(self, metrics: dict, seconds: float) -> None:
        self.learner_metrics = metrics
        self.learner_busy += seconds
        self.total_learner_seconds += seconds
        self.last_loss = metrics.get("loss", float("nan"))

    def pause(self, seconds: float) -> None:
        """Time spent outside the pipeline (evaluation, checkpoints) is not counted as idle."""
        self.paused += seconds

    def log_step(self, step: int, buffer_stats: dict) -> None:
        wall = max(1e-6, time.monotonic() - self.window_start - self.paused)
        row = dict(self.learner_metrics)
        row.update(buffer_stats)
        row.update({
            "perf/gen_tokens_per_s": self.gen_tokens / wall,
            "perf/train_samples_per_s": self.batch / wall,
            "perf/step_seconds": wall,
            "perf/generator_idle_fraction": max(0.0, 1.0 - self.gen_busy / (wall * self.n_gen)),
            "perf/learner_idle_fraction": max(0.0, 1.0 - self.learner_busy / wall),
            "perf/weight_sync_seconds": self.sync_seconds,
            "perf/weight_export_seconds": self.export_seconds,
            "perf/buffer_seconds": self.buffer_seconds,
        })
        row.update({"faults/actor_restarts": self.faults["faults/actor_restarts"],
                    "faults/reissued_rounds": self.faults["faults/reissued_rounds"]})
        row.update({f"drops/{reason}": self.drops[reason] for reason in ("truncated", "unpaired")})
        if self.generated:
            row["completions/clipped_ratio"] = self.clipped / self.generated
        if self.rollout_rewards:
            row["rollout/reward_mean"] = sum(self.rollout_rewards) / len(self.rollout_rewards)
        row.update({key: sum(values) / len(values) for key, values in self.round_metrics.items()})
        self.round_metrics = {}
        self.sink.log(step, row)
        self.window_start, self.paused = time.monotonic(), 0.0
        self.gen_tokens, self.gen_busy, self.learner_busy, self.sync_seconds = 0, 0.0, 0.0, 0.0
        self.buffer_seconds = 0.0
        self.rollout_rewards = []
        self.generated = self.clipped = 0
