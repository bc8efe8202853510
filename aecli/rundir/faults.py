"""A test hook for the fault-injection suite (tests/e2e/test_faults.py); inert unless the
environment sets it.

`AECLI_FAULT_POINT=NAME[:N]` makes the process signal itself the N-th time (default the first) it
reaches the point NAME; `AECLI_FAULT_SIGNAL` names the signal (default SIGKILL). Timed kills from
outside cannot hit a point as narrow as the gap between two renames, so the suite asks the process
to stop itself there. Points: startup, data-loading, batch, epoch-end, checkpoint-write (the
temporary file written, not yet renamed), checkpoint-rotate (`previous` replaced, `last` not yet),
evaluation, saving (between the encoder and the decoder), metrics-written (metrics.json written,
status not yet `completed`), job-start (a sweep's job, before anything else).
"""

import collections
import os
import signal

_hits = collections.Counter()


def fault_point(name: str) -> None:
    spec = os.environ.get("AECLI_FAULT_POINT")
    if not spec:
        return
    point, _, count = spec.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] == int(count or 1):
        os.kill(os.getpid(), getattr(signal, os.environ.get("AECLI_FAULT_SIGNAL", "SIGKILL")))
