"""The replay buffer's logic: Arrow storage, staleness-bounded sampling, exactly-once accounting.

Every generated sample is admitted once and ends in exactly one terminal state: trained (as part
of an example), evicted (fell too far behind the learner), or dropped (the builder used it in no
example: ties, truncation). `lost = admitted - terminal - pending` must stay 0, and a sample
trained twice is counted in `duplicated`.

The bookkeeping stays flat in run length: counts per state are kept as running totals, and a
sample's own entry is forgotten once it has been terminal for RECENT_TERMINAL more samples (long
enough to recognise a retried ingest or commit), so memory and snapshots hold only live samples
and a bounded tail.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

PENDING, QUEUED, IN_FLIGHT = "pending", "queued", "in_flight"
TRAINED, EVICTED, DROPPED = "trained", "evicted", "dropped"
TERMINAL = (TRAINED, EVICTED, DROPPED)
LIVE = (PENDING, QUEUED, IN_FLIGHT)
RECENT_TERMINAL = 4096  # finished samples still remembered by id (a few rounds' worth)


class ReplayBuffer:
    """Holds training examples as an Arrow table; every row names the samples it consumes."""

    def __init__(self, schema: pa.Schema, max_staleness: int, capacity: int = 100_000):
        for column in ("example_id", "sample_ids", "policy_version"):
            if column not in schema.names:
                raise ValueError(f"buffer schema needs a {column!r} column")
        self.schema, self.max_staleness, self.capacity = schema, max_staleness, capacity
        self.queue = schema.empty_table()
        self.in_flight: dict[str, pa.Table] = {}
        self.sample_state: dict[str, str] = {}  # live samples, and the most recent finished ones
        self.finished: dict[str, None] = {}  # finished sample ids in the order they finished (the tail kept)
        self.counts: Counter[str] = Counter()  # samples per state, over the whole run
        self.duplicated = 0
        self.trained_staleness: Counter[int] = Counter()
        self.trained_prompts: Counter[str] = Counter()  # examples trained per prompt id (bounded by the prompt set)

    # -- admission -------------------------------------------------------------------------------
    def admit(self, sample_ids: list[str]) -> None:
        """Register generated samples before they are scored, so a fault later cannot hide them."""
        for sid in sample_ids:
            if sid in self.sample_state:
                raise ValueError(f"sample {sid} admitted twice")
            self.sample_state[sid] = PENDING
            self.counts[PENDING] += 1

    def knows(self, sample_id: str) -> bool:
        """Admitted and live, or finished recently: a retried ingest of its round is a no-op."""
        return sample_id in self.sample_state

    def add(self, examples: pa.Table, dropped: list[str] = (), evicted: list[str] = ()) -> None:
        """Queue examples built from admitted samples; mark the samples the builder did not use."""
        examples = examples.cast(self.schema) if examples.schema != self.schema else examples
        for sid in dropped:
            self._finish(sid, DROPPED)
        for sid in evicted:
            self._finish(sid, EVICTED)
        for ids in examples.column("sample_ids").to_pylist():
            for sid in ids:
                if self.sample_state.get(sid) != PENDING:
                    raise ValueError(f"example uses sample {sid} in state {self.sample_state.get(sid)}")
                self._set(sid, QUEUED)
        self.queue = pa.concat_tables([self.queue, examples])
        if self.queue.num_rows > self.capacity:  # oldest first out
            overflow = self.queue.slice(0, self.queue.num_rows - self.capacity)
            self._mark_rows(overflow, EVICTED)
            self.queue = self.queue.slice(overflow.num_rows)

    # -- sampling --------------------------------------------------------------------------------
    def evict_stale(self, learner_version: int) -> int:
        """Drop queued examples whose generating version lags the learner by more than max_staleness."""
        keep = pc.less_equal(pc.subtract(pa.scalar(learner_version, pa.int64()), self.queue["policy_version"]),
                             self.max_staleness)
        stale = self.queue.filter(pc.invert(keep))
        self._mark_rows(stale, EVICTED)
        self.queue = self.queue.filter(keep)
        return stale.num_rows

    def evict_where(self, column: str, below: int) -> int:
        """Evict queued examples whose `column` < `below` (e.g. computed under an old reference)."""
        keep = pc.greater_equal(self.queue[column], below)
        stale = self.queue.filter(pc.invert(keep))
        self._mark_rows(stale, EVICTED)
        self.queue = self.queue.filter(keep)
        return stale.num_rows

    def take(self, n: int, learner_version: int) -> pa.Table | None:
        """The n oldest admissible examples, now in flight; None while fewer than n are queued."""
        self.evict_stale(learner_version)
        if self.queue.num_rows < n:
            return None
        batch, self.queue = self.queue.slice(0, n), self.queue.slice(n)
        token = f"batch-{learner_version}-{len(self.in_flight)}-{batch['example_id'][0].as_py()}"
        self.in_flight[token] = batch
        self._mark_rows(batch, IN_FLIGHT)
        return batch.append_column("batch_token", pa.array([token] * n))

    def commit(self, token: str, learner_version: int, example_ids: list[str] = ()) -> None:
        """The learner trained on this batch at `learner_version`.

        After a buffer restart the batch is no longer in flight (restores re-queue it): it is then
        found by its example ids and taken out of the queue, so it is never trained twice.
        """
        batch = self.in_flight.pop(token, None)
        if batch is None:
            in_queue = pc.is_in(self.queue["example_id"], pa.array(list(example_ids), pa.string()))
            batch = self.queue.filter(in_queue)
            self.queue = self.queue.filter(pc.invert(in_queue))
            if batch.num_rows == 0:
                return  # a retried commit that was already applied
        for version in batch["policy_version"].to_pylist():
            self.trained_staleness[learner_version - version] += 1
        if "prompt_id" in batch.column_names:
            self.trained_prompts.update(batch["prompt_id"].to_pylist())
        self._mark_rows(batch, TRAINED)

    def release(self, token: str) -> None:
        """The step failed: return the batch to the front of the queue, nothing lost."""
        batch = self.in_flight.pop(token)
        self._mark_rows(batch, QUEUED)
        self.queue = pa.concat_tables([batch, self.queue])

    def _set(self, sid: str, state: str) -> None:
        current = self.sample_state[sid]
        self.counts[current] -= 1
        self.counts[state] += 1
        self.sample_state[sid] = state
        if state in TERMINAL:
            self.finished.pop(sid, None)
            self.finished[sid] = None
            while len(self.finished) > RECENT_TERMINAL:  # forget the oldest finished ids
                oldest = next(iter(self.finished))
                del self.finished[oldest], self.sample_state[oldest]

    def _finish(self, sid: str, state: str) -> None:
        current = self.sample_state.get(sid)
        if current == TRAINED and state == TRAINED:
            self.duplicated += 1
            return
        if current is None:
            raise ValueError(f"sample {sid} was never admitted (or finished over {RECENT_TERMINAL} samples ago)")
        self._set(sid, state)

    def _mark_rows(self, rows: pa.Table, state: str) -> None:
        for ids in rows.column("sample_ids").to_pylist():
            for sid in ids:
                self._finish(sid, state)

    # -- accounting ------------------------------------------------------------------------------
    def stats(self) -> dict[str, float]:
        counts = self.counts
        live = counts[PENDING] + counts[QUEUED] + counts[IN_FLIGHT]
        admitted = sum(counts.values())
        out = {
            "buffer/size": self.queue.num_rows,
            "buffer/admitted": admitted,
            "buffer/trained": counts[TRAINED],
            "buffer/evicted": counts[EVICTED],
            "buffer/dropped": counts[DROPPED],
            "buffer/pending": live,
            "buffer/lost": admitted - live - sum(counts[s] for s in TERMINAL),
            "buffer/duplicated": self.duplicated,
        }
        for lag, n in sorted(self.trained_staleness.items()):
            out[f"staleness/{lag}"] = n
        out["staleness/max"] = max(self.trained_staleness, default=0)
        return out

    # -- persistence -----------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to resume; in-flight batches go back to the queue (an Arrow table, not copied)."""
        queue = pa.concat_tables([*self.in_flight.values(), self.queue]) if self.in_flight else self.queue
        states = {sid: (QUEUED if s == IN_FLIGHT else s) for sid, s in self.sample_state.items()}
        counts = dict(self.counts)
        counts[QUEUED] = counts.get(QUEUED, 0) + counts.pop(IN_FLIGHT, 0)
        return {"queue": queue, "sample_state": states, "finished": list(self.finished),
                "counts": counts, "duplicated": self.duplicated,
                "trained_staleness": dict(self.trained_staleness), "trained_prompts": dict(self.trained_prompts)}

    def load_state(self, state: dict) -> None:
        self.queue = state["queue"]
        self.in_flight = {}
        self.sample_state = dict(state["sample_state"])
        # Older checkpoints kept every sample and no running counts: rebuild both from the states.
        self.counts = Counter(state.get("counts") or Counter(self.sample_state.values()))
        finished = state.get("finished")
        if finished is None:
            finished = [sid for sid, s in self.sample_state.items() if s in TERMINAL]
        self.finished = dict.fromkeys(finished)
        self.duplicated = int(state["duplicated"])
        self.trained_staleness = Counter({int(k): v for k, v in state["trained_staleness"].items()})
        self.trained_prompts = Counter(state.get("trained_prompts", {}))  # absent in older checkpoints


# -- on-disk form: used by checkpoints and by the buffer actor's crash snapshots ----------------------
# One file, replaced atomically: the queued examples as Arrow IPC, the accounting as JSON in the schema's
# metadata. (Two files could be caught half-written by a kill between their two renames.)
STATE_FILE = "buffer.arrow"
_ACCOUNTING = b"alignrl.accounting"
_LEGACY_ACCOUNTING = "buffer.json"  # checkpoints written before the single-file form


def write_state(directory: str | Path, state: dict) -> None:
    """Write `ReplayBuffer.state()` as one file, replaced atomically; the queue is serialised once."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    accounting = json.dumps({k: v for k, v in state.items() if k != "queue"}).encode()
    queue = state["queue"]
    schema = queue.schema.with_metadata({**(queue.schema.metadata or {}), _ACCOUNTING: accounting})
    tmp = directory / f".{STATE_FILE}.tmp"
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_stream(sink, schema) as writer:
        writer.write_table(queue.replace_schema_metadata(schema.metadata))
    os.replace(tmp, directory / STATE_FILE)


def has_state(directory: str | Path) -> bool:
    return (Path(directory) / STATE_FILE).is_file()


def read_state(directory: str | Path) -> dict:
    directory = Path(directory)
    with pa.OSFile(str(directory / STATE_FILE), "rb") as source:
        table = ipc.open_stream(source).read_all()
    metadata = dict(table.schema.metadata or {})
    accounting = metadata.pop(_ACCOUNTING, None)
    if accounting is None:
        accounting = (directory / _LEGACY_ACCOUNTING).read_bytes()
    state = json.loads(accounting)
    state["queue"] = table.replace_schema_metadata(metadata or None)
    return state
