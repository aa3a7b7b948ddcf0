"""ReplayBufferActor: the Arrow replay buffer behind a Ray actor."""

from __future__ import annotations

import pyarrow as pa
import ray

from alignrl.buffer import ReplayBuffer


@ray.remote
class ReplayBufferActor:
    def __init__(self, schema: pa.Schema, max_staleness: int, capacity: int = 100_000):
        self.buffer = ReplayBuffer(schema, max_staleness, capacity)

    def admit(self, sample_ids: list[str]) -> None:
        self.buffer.admit(sample_ids)

    def ingest(self, sample_ids: list[str], examples: pa.Table, dropped: list[str], evicted: list[str]) -> int:
        """Admit a scored round's samples and queue the examples built from them; returns the queue size."""
        self.buffer.admit(sample_ids)
        self.buffer.add(examples, dropped, evicted)
        return self.buffer.queue.num_rows

    def take(self, n: int, learner_version: int) -> tuple[pa.Table | None, int]:
        """(batch or None, examples still queued after stale ones were evicted)."""
        batch = self.buffer.take(n, learner_version)
        return batch, self.buffer.queue.num_rows

    def commit(self, token: str, learner_version: int) -> None:
        self.buffer.commit(token, learner_version)

    def release(self, token: str) -> None:
        self.buffer.release(token)

    def evict_where(self, column: str, below: int) -> int:
        return self.buffer.evict_where(column, below)

    def size(self) -> int:
        return self.buffer.queue.num_rows

    def stats(self) -> dict:
        return self.buffer.stats()

    def state(self) -> dict:
        return self.buffer.state()

    def load_state(self, state: dict) -> None:
        self.buffer.load_state(state)
