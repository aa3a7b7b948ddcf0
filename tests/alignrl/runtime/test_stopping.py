"""The driver's stop handler: raise on the first signal, defer inside critical sections, exit on the second."""

import os
import signal
import time

import pytest

from alignrl.runtime import stopping
from alignrl.runtime.stopping import StopRequested, StopSignals


def _signal_self(sig=signal.SIGINT) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(0.05)  # Python runs the handler between bytecodes; the sleep gives it the chance


def test_the_first_signal_raises_with_the_shell_exit_code_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    stops = StopSignals()
    with pytest.raises(StopRequested) as caught:
        with stops.installed():
            _signal_self(signal.SIGTERM)
    assert (caught.value.name, caught.value.exit_code) == ("SIGTERM", 143)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_stop_inside_a_critical_section_is_raised_when_the_section_ends():
    stops = StopSignals()
    finished = []
    with stops.installed():
        with pytest.raises(StopRequested) as caught:
            with stops.critical():
                _signal_self()
                finished.append("bookkeeping")  # not cut in half
        assert caught.value.exit_code == 130
        with stops.critical():  # later critical sections (settling after the stop) do not raise again
            finished.append("settle")
    assert finished == ["bookkeeping", "settle"]


def test_reinstalling_after_a_library_replaced_the_handler_still_restores_the_original():
    original = signal.getsignal(signal.SIGTERM)
    stops = StopSignals()
    with stops.installed():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # what ray.init does to SIGTERM
        stops.install()
        assert signal.getsignal(signal.SIGTERM) == stops._handle
    assert signal.getsignal(signal.SIGTERM) is original


def test_a_second_signal_exits_at_once(monkeypatch):
    exits = []

    def exit_now(signum):  # os._exit, without ending the test process
        exits.append(signum)
        raise SystemExit(128 + signum)

    monkeypatch.setattr(stopping, "_exit_now", exit_now)
    stops = StopSignals()
    with stops.installed():
        with pytest.raises(StopRequested):
            _signal_self()
        with pytest.raises(SystemExit):
            _signal_self()
    assert exits == [signal.SIGINT]
