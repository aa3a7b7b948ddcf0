"""The data-kind seam: what one replay-buffer example is, how it is built and how the learner reads it.

A data kind is one registered record: the Arrow schema of its examples, the builder that turns a
scored round's samples into examples, the learner forward that turns example rows into the batch
its losses consume, and (for kinds that train from datasets) the samples one dataset pair gives.
Flags say which extra scoring a round needs; the runtime reads them and never a kind's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from alignrl.registry import Registry

# (examples, dropped sample ids, evicted sample ids): the builder's exactly-once accounting.
Built = tuple[pa.Table, list[str], list[str]]


@dataclass(frozen=True)
class DataKind:
    name: str
    schema: pa.Schema
    build: Callable[..., Built]  # (samples, ref_version | None, shape: algorithms.RoundShape) -> Built
    forward: Callable  # (model, rows, pad_id, extras=None, options=ForwardOptions()) -> the batch its losses read
    # row -> (prompt tokens, response tokens) of each sequence its forward builds: micro-batch
    # token budgets and loss normalisers are counted from these.
    sequences: Callable[[dict], list[tuple[int, int]]]
    summary: str
    # (pair, tag, version) -> samples one dataset pair contributes; None: the kind trains online only.
    dataset_samples: Callable[..., list[dict]] | None = None
    dataset_rewards: bool = False  # dataset samples are scored by the reward actor (point-wise targets)
    cross_blocks: bool = False  # rewards and reference log-probs of every (x_i, y_j) within a block
    prompt_logp: bool = False  # the reference also scores each prompt after its first token
    truncated: str = "keep"  # the default of generation.truncated for this kind (drop, keep or penalize)
    # (model, rows, pad_id, batch_size, options) -> None: fills the rows' reference fields in place, so a
    # learner rank can score its own share (learner.reference: learner) instead of the reference actor.
    score_reference: Callable | None = None

    def units(self, row: dict, unit: str) -> int:
        """How many of `unit` (examples, sequences or response tokens) one example row holds."""
        if unit == "examples":
            return 1
        if unit == "sequences":
            return len(self.sequences(row))
        if unit == "tokens":
            return sum(response for _, response in self.sequences(row))
        raise ValueError(f"unknown loss unit {unit!r}; use examples, sequences or tokens")


KINDS: Registry[DataKind] = Registry("data kind", "register one with alignrl.kinds.register_kind")


def register_kind(kind: DataKind) -> DataKind:
    return KINDS.register(kind.name, kind)


def get_kind(name: str) -> DataKind:
    return KINDS.get(name)
