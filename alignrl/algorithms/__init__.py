"""Algorithm math, pure torch: losses, builders and diagnostics, registered by name.

Importing this package registers every algorithm in `registry.ALGORITHMS`.
"""

from alignrl.algorithms import dpo, grpo, ipo, rao, realign, simplemix, simpo, slic, var, wpo  # noqa: F401
from alignrl.algorithms.registry import ALGORITHMS, AlgorithmParams, AlgorithmSpec, get_algorithm

__all__ = ["ALGORITHMS", "AlgorithmParams", "AlgorithmSpec", "get_algorithm"]
