"""The run's log file (Hydra's job log, `<run>/<job>.log`), as Hydra's FileHandler but quiet on a
full disk: logging prints a `--- Logging error ---` traceback for every record it cannot write,
which would bury the one paragraph that says the disk is full (the run's own writes report it)."""

import errno
import logging
import sys


class RunLogFile(logging.FileHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return  # the record is lost with the space; the run's error says why
        super().handleError(record)
