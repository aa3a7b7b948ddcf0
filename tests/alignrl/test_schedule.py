import pytest

from alignrl.schedule import lr_multiplier


def test_warmup_then_cosine():
    assert lr_multiplier(0, 100, 0.1) == pytest.approx(0.1)
    assert lr_multiplier(9, 100, 0.1) == pytest.approx(1.0)
    assert lr_multiplier(55, 100, 0.1) == pytest.approx(0.5, abs=0.02)
    assert lr_multiplier(99, 100, 0.1) < 0.01
    assert lr_multiplier(50, 100, 0.0, "constant") == 1.0
    with pytest.raises(ValueError):
        lr_multiplier(50, 100, 0.0, "linear")
