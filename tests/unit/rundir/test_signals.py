"""The signal guard's deferred block: library writes that a KeyboardInterrupt at the wrong bytecode
breaks finish first, and the stop comes at the block's end with the signal's exit code."""

import os
import signal

import pytest

from aecli.rundir.signals import Stopped, guard


@pytest.fixture
def installed_guard():
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    installed = guard.installed
    guard.install()
    yield guard
    for signum, handler in kept.items():
        signal.signal(signum, handler)
    guard.installed = installed


def test_a_signal_in_a_deferred_block_stops_at_its_end_with_the_signals_exit_code(installed_guard):
    finished = []
    with pytest.raises(Stopped) as stopped:
        with installed_guard.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            finished.append("the rest of the block")
    assert finished == ["the rest of the block"]
    assert stopped.value.exit_code == 143


def test_a_second_signal_in_a_deferred_block_stops_at_once(installed_guard):
    finished = []
    with pytest.raises(Stopped) as stopped:
        with installed_guard.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("the rest of the block")
    assert finished == []
    assert stopped.value.exit_code == 130


def test_outside_a_deferred_block_a_signal_stops_at_once(installed_guard):
    with installed_guard.deferred():
        pass
    with pytest.raises(Stopped):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the signal did not stop the block")
