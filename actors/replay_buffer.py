"""ReplayBufferActor: the Arrow replay buffer behind a Ray actor, snapshotted so a restart loses nothing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import ray

from alignrl.buffer import ReplayBuffer, has_state, read_state, write_state


@ray.remote
class ReplayBufferActor:
    def __init__(self, schema: pa.Schema, max_staleness: int, snapshot_dir: str | None = None,
                 capacity: int = 100_000):
        self.buffer = ReplayBuffer(schema, max_staleness, capacity)
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None
        self.restored = False
        if self.snapshot_dir and has_state(self.snapshot_dir):
            self.buffer.load_state(read_state(self.snapshot_dir))  # a restart after a crash: pick up where it was
            self.restored = True

    # Every mutation is written before the call returns, so an acknowledged change survives a crash.
    def _persist(self) -> None:
        if self.snapshot_dir is not None:
            write_state(self.snapshot_dir, self.buffer.state())

    def ingest(self, sample_ids: list[str], examples: pa.Table, dropped: list[str], evicted: list[str]) -> int:
        """Admit a scored round's samples and queue its examples; a retried ingest is a no-op."""
        if sample_ids and self.buffer.knows(sample_ids[0]):
            return self.buffer.queue.num_rows
        self.buffer.admit(sample_ids)
        self.buffer.add(examples, dropped, evicted)
        self._persist()
        return self.buffer.queue.num_rows

    # Taking or releasing a batch changes nothing a snapshot holds (in-flight batches are written as
    # queued), so only a take that evicted stale examples is written. A snapshot holds the queue, the
    # live samples and a bounded tail of finished ones: its cost does not grow with the run.
    def take(self, n: int, learner_version: int) -> tuple[pa.Table | None, int]:
        """(batch or None, examples still queued after stale ones were evicted)."""
        evicted = self.buffer.evict_stale(learner_version)
        batch = self.buffer.take(n, learner_version)
        if evicted:
            self._persist()
        return batch, self.buffer.queue.num_rows

    def commit(self, token: str, learner_version: int, example_ids: list[str]) -> None:
        self.buffer.commit(token, learner_version, example_ids)
        self._persist()

    def release(self, token: str) -> None:
        self.buffer.release(token)

    def evict_where(self, column: str, below: int) -> int:
        evicted = self.buffer.evict_where(column, below)
        self._persist()
        return evicted

    def size(self) -> int:
        return self.buffer.queue.num_rows

    def stats(self) -> dict:
        return self.buffer.stats()

    def state(self) -> dict:
        return self.buffer.state()

    def load_state(self, state: dict) -> None:
        self.buffer.load_state(state)
        self._persist()
