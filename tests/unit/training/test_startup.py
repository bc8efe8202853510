"""The start-up split (aecli.training.startup): each phase from the end of the one before, up to
the first step, adding up to the time since the process started."""

import time

from aecli.training.startup import FIRST_STEP, StartupClock


def test_each_phase_runs_from_the_end_of_the_one_before_and_they_add_up_to_the_total():
    clock = StartupClock()
    clock.start = 100.0
    clock.mark("compose", at=100.5)
    clock.mark("data loading", at=103.0)
    clock.mark("import tensorflow", at=102.0)  # marked late: ordered by when it ended
    clock.mark(FIRST_STEP, at=104.5)
    assert clock.split() == {
        "compose": 0.5,
        "import tensorflow": 1.5,
        "data loading": 1.0,
        FIRST_STEP: 1.5,
    }
    assert sum(clock.split().values()) == clock.total() == 4.5


def test_a_phase_keeps_its_first_end_and_the_clock_stops_at_the_first_step():
    # a sweep's later jobs run in the same process, warm: they leave the first job's split
    clock = StartupClock()
    clock.start = 0.0
    clock.mark("data loading", at=2.0)
    clock.mark("data loading", at=9.0)
    clock.mark(FIRST_STEP, at=3.0)
    clock.mark("the final evaluation", at=5.0)
    assert clock.split() == {"data loading": 2.0, FIRST_STEP: 1.0}


def test_the_clock_counts_from_the_process_start_not_from_its_own_making():
    made = time.perf_counter()
    clock = StartupClock()
    assert clock.start < made  # this test process ran for a while before
    clock.mark("compose")
    assert clock.split()["compose"] > time.perf_counter() - made
