"""Data kinds, registered by name: `pairwise`, `group`, `pointwise` and `weighted_sft`.

An algorithm names its kind; the runtime builds, buffers and forwards examples through the
kind's record, so a new kind is one module that calls `register_kind`.
"""

from alignrl.kinds import group, pairwise, pointwise, weighted_sft  # noqa: F401  (registers the built-ins)
from alignrl.kinds.registry import KINDS, Built, DataKind, get_kind, register_kind

__all__ = ["KINDS", "Built", "DataKind", "get_kind", "register_kind"]
