"""One guard for SIGINT and SIGTERM over the whole life of a process: start-up, data loading,
training, evaluation, saving, and the gaps between a sweep's jobs.

Inside `model.fit` a signal only asks training to stop after the current step (the callback that
watches for it registers itself with `during_fit`), so the run ends at a clean point. Inside a
`deferred` block (a third-party write whose own clean-up a KeyboardInterrupt can break) it waits for
the block's end. Anywhere else it raises `Stopped` at once. `Stopped` is a KeyboardInterrupt, not
an Exception: Hydra's launchers and every `except Exception` let it through to the code that
records the run's end.
No TensorFlow here: the guard is installed before anything heavy is imported.
"""

import contextlib
import signal
import threading

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Stopped(KeyboardInterrupt):
    """A signal stopped the process; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = EXIT_CODES.get(signum, 128 + signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class _Guard:
    def __init__(self):
        self.installed = False
        self._fit = None  # called with the signal number while model.fit runs

    def install(self) -> None:
        """Route SIGINT and SIGTERM through the guard for the rest of the process (idempotent)."""
        if self.installed or threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (a launcher running jobs in threads)
        for signum in EXIT_CODES:
            signal.signal(signum, self._handle)
        self.installed = True

    def _handle(self, signum, frame):
        if self._fit is not None and self._fit(signum):
            return
        raise Stopped(signum)

    @contextlib.contextmanager
    def during_fit(self, request_stop):
        """While the block runs, a signal calls `request_stop(signum)`; it returns False when the
        stop cannot wait (a second signal), and the guard then raises Stopped at once."""
        previous, self._fit = self._fit, request_stop
        try:
            yield
        finally:
            self._fit = previous

    @contextlib.contextmanager
    def deferred(self):
        """A first signal while the block runs raises Stopped when the block ends, a second one at
        once. For library code that cannot take an exception at any bytecode: TensorFlow's
        SavedModel writer reads its logging level inside a `try` whose `finally` restores it, so
        a signal between the two turns the stop into an UnboundLocalError and a traceback."""
        pending = []

        def wait_for_the_block(signum) -> bool:
            pending.append(signum)
            return len(pending) == 1

        with self.during_fit(wait_for_the_block):
            yield
        if pending:
            raise Stopped(pending[0])


guard = _Guard()
