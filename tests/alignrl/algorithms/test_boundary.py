import pytest

from alignrl.algorithms.boundary import count_votes, decide_source, wilson_interval

ON = [(0.8, 0.2), (0.1, 0.3), (0.9, 0.6)]
OFF = [(0.5, 0.4), (0.7, 0.2), (0.5, 0.95)]


def test_worked_example():
    v_on, v_off = count_votes(ON, OFF)
    assert (v_on, v_off) == (5, 7)
    verdict = decide_source(v_on, v_off)
    assert verdict.bs_on == pytest.approx(0.4167, abs=1e-4)
    assert verdict.source == "off"


def test_ties_vote_off():
    assert count_votes([(0.5,)], [(0.5,)]) == (0, 1)


def test_hysteresis_and_latch():
    assert decide_source(6, 4).source == "on"
    assert decide_source(6, 4, previous="off", hysteresis=True).source == "off"  # CI straddles 0.5
    assert decide_source(90, 10, previous="off", hysteresis=True).source == "on"
    assert decide_source(1, 9, previous="on", latch=True).source == "on"
    assert decide_source(1, 9, previous="on", latch=False).source == "off"


def test_wilson_interval_contains_estimate():
    low, high = wilson_interval(5, 12)
    assert low < 5 / 12 < high
