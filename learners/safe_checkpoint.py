"""DeepSpeed checkpoints read without running pickled code.

DeepSpeed writes its engine and optimizer state with torch serialization and reads it back with
`weights_only=False`, so a crafted checkpoint given to `--resume` could run code in every learner.
alignrl swaps in a checkpoint engine that reads the same files with `weights_only=True`, allowing
only tensors, plain data and the few DeepSpeed value types its ZeRO states hold.
"""

from __future__ import annotations

import pickle
import re

import torch
from deepspeed.runtime.checkpoint_engine import TorchCheckpointEngine


class UntrustedCheckpointError(RuntimeError):
    """A checkpoint file holds objects that only a pickle load (which can run code) would restore."""


def allowed_globals() -> list:
    """DeepSpeed's own value types found in ZeRO optimizer states (no code runs to restore them)."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    return [LossScaler, DynamicLossScaler, ZeroStageEnum, fragment_address]


class WeightsOnlyCheckpointEngine(TorchCheckpointEngine):
    def load(self, path: str, map_location=None):
        try:
            with torch.serialization.safe_globals(allowed_globals()):
                return torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            found = re.search(r"GLOBAL (\S+) was not an allowed global", str(err))
            what = f"`{found.group(1)}`" if found else "an object that is not a tensor or plain data"
            raise UntrustedCheckpointError(
                f"{path} holds {what}, which only an unsafe pickle load could restore; alignrl loads "
                f"checkpoints without running pickled code. Resume only from checkpoints alignrl wrote."
            ) from None


def load_without_pickle(engine) -> None:
    """Make `engine.load_checkpoint` read through WeightsOnlyCheckpointEngine (writing is unchanged)."""
    engine.checkpoint_engine = WeightsOnlyCheckpointEngine(engine._config)
