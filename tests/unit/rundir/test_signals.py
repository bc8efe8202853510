"""The signal guard's deferred block: library writes that a KeyboardInterrupt at the wrong bytecode
breaks finish first, and the stop comes at the block's end with the signal's exit code."""

import os
import signal

import pytest

from aecli.rundir.signals import Stopped


def test_a_signal_in_a_deferred_block_stops_at_its_end_with_the_signals_exit_code(signal_guard):
    finished = []
    with pytest.raises(Stopped) as stopped:
        with signal_guard.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            finished.append("the rest of the block")
    assert finished == ["the rest of the block"]
    assert stopped.value.exit_code == 143


def test_a_second_signal_in_a_deferred_block_stops_at_once(signal_guard):
    finished = []
    with pytest.raises(Stopped) as stopped:
        with signal_guard.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("the rest of the block")
    assert finished == []
    assert stopped.value.exit_code == 130


def test_outside_a_deferred_block_a_signal_stops_at_once(signal_guard):
    with signal_guard.deferred():
        pass
    with pytest.raises(Stopped):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the signal did not stop the block")
