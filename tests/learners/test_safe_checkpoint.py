"""DeepSpeed checkpoints come back whole (ZeRO 0 and 1) and never run pickled code on the way in."""

import os

import pytest
import torch

from tests.learners.test_engine import _engine, _step, _worst


@pytest.mark.parametrize("zero_stage", [0, 1])
def test_a_checkpoint_round_trips_without_pickle(one_rank, tiny_model_dir, tmp_path, zero_stage):
    trained = _engine(tiny_model_dir, runtime={"zero_stage": zero_stage})
    _step(trained)
    trained.engine.save_checkpoint(str(tmp_path), tag="t")
    fresh = _engine(tiny_model_dir, runtime={"zero_stage": zero_stage})
    fresh.engine.load_checkpoint(str(tmp_path), tag="t")
    assert _worst(fresh.engine.module.state_dict(), trained.engine.module.state_dict()) == 0
    # The optimizer state came back too: the next step is the same on both.
    _, after_trained = _step(trained)
    _, after_fresh = _step(fresh)
    assert _worst(after_fresh, after_trained) < 1e-6


class _Payload:
    """What a crafted checkpoint carries: unpickling it would run code (here, write a file)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_a_crafted_checkpoint_is_refused_and_runs_nothing(one_rank, tiny_model_dir, tmp_path):
    from alignrl.learners.safe_checkpoint import UntrustedCheckpointError

    engine = _engine(tiny_model_dir)
    engine.engine.save_checkpoint(str(tmp_path), tag="t")
    states = tmp_path / "t" / "mp_rank_00_model_states.pt"
    marker = tmp_path / "pwned"
    real = torch.load(states, weights_only=True)
    torch.save({**real, "extra": _Payload(str(marker))}, states)
    with pytest.raises(UntrustedCheckpointError, match=r"mp_rank_00_model_states\.pt holds `exec`, "
                                                       r"which only an unsafe pickle load could restore.*Resume "
                                                       r"only from checkpoints alignrl wrote"):
        _engine(tiny_model_dir).engine.load_checkpoint(str(tmp_path), tag="t")
    assert not os.path.exists(marker)
