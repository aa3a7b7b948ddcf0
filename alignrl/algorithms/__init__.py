"""Algorithm math, pure torch: losses, builders and diagnostics, each algorithm registered with its spec.

Importing this package registers every built-in algorithm in `registry.ALGORITHMS`; plug-ins add
theirs with `register`.
"""

from alignrl.algorithms import dpo, grpo, ipo, rao, realign, simplemix, simpo, slic, var, wpo  # noqa: F401
from alignrl.algorithms.registry import (ALGORITHMS, AlgorithmParams, AlgorithmSpec, ExtraRole, RoleCall, RoundInputs,
                                         RoundPlan, RoundShape, StepHook, get_algorithm, register)

__all__ = ["ALGORITHMS", "AlgorithmParams", "AlgorithmSpec", "ExtraRole", "RoleCall", "RoundInputs", "RoundPlan",
           "RoundShape", "StepHook", "get_algorithm", "register"]
