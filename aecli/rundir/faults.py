"""A test hook for the fault-injection suite (tests/e2e/test_faults.py); inert unless the
environment sets it.

`AECLI_FAULT_POINT=NAME[:N]` makes the process signal itself the N-th time (default the first) it
reaches the point NAME; `AECLI_FAULT_SIGNAL` names the signal (default SIGKILL). Timed kills from
outside cannot hit a point as narrow as the gap between two renames, so the suite asks the process
to stop itself there. With `AECLI_FAULT_FILL=PATH` the process fills the disk instead of
signalling: it writes PATH until the disk holding it has no space left, so the next write of the
run meets a real full disk at a known moment.

Points: startup, data-loading, batch, epoch-end, checkpoint-write (the temporary file written, not
yet renamed), checkpoint-rotate (`previous` replaced, `last` not yet), evaluation, saving (between
the encoder and the decoder), networks-saved (both written, metrics.json not yet),
metrics-written (metrics.json written, status not yet `completed`), job-start (a sweep's job,
before anything else), sweep-summary (a sweep's jobs ended, its summary not yet written).
"""

import collections
import errno
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
    if _hits[name] != int(count or 1):
        return
    filler = os.environ.get("AECLI_FAULT_FILL")
    if filler:
        _fill(filler)
    else:
        os.kill(os.getpid(), getattr(signal, os.environ.get("AECLI_FAULT_SIGNAL", "SIGKILL")))


def _fill(path: str) -> None:
    block = b"\0" * 4096
    with open(path, "ab", buffering=0) as stream:
        try:
            while True:
                stream.write(block)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
