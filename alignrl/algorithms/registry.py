"""Algorithms registered by name: typed parameters, data kind, and the loss on a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from alignrl.typed import StrictModel

DataKind = Literal["pairwise", "group", "pointwise", "weighted_sft"]


class AlgorithmParams(StrictModel):
    """Base of every algorithm's parameter block; `name` selects the algorithm."""

    name: str


@dataclass(frozen=True)
class AlgorithmSpec:
    """What the runtime needs to know to drive one algorithm."""

    name: str
    params: type[AlgorithmParams]
    kind: DataKind
    loss: Callable  # (batch, params) -> LossOutput
    needs_reference: bool
    online: bool
    summary: str


ALGORITHMS: dict[str, AlgorithmSpec] = {}


def register(spec: AlgorithmSpec) -> AlgorithmSpec:
    if spec.name in ALGORITHMS:
        raise ValueError(f"algorithm {spec.name!r} is registered twice")
    if spec.params.model_fields["name"].default != spec.name:
        raise ValueError(f"{spec.params.__name__}.name must default to {spec.name!r}")
    ALGORITHMS[spec.name] = spec
    return spec


def get_algorithm(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise KeyError(f"unknown algorithm {name!r}; registered: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name]
