"""User errors of the toolkit's commands (``training``, ``publish``): one exception type, one line, exit 2.

A ``ToolkitError`` is something the user can fix (a bad data file, an unknown option, a model that
cannot be downloaded). A command's ``main`` wrapped in :func:`one_line_errors` prints its message as one
line, without a traceback, and exits with status 2; any other exception is a bug and keeps its traceback.
A SIGTERM (``kill``, a scheduler's time limit, ``docker stop``) ends such a command as Ctrl-C does: its
clean-up runs (a run's unfinished output folder is deleted at once), exit status 143.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator


class ToolkitError(Exception):
    """A user error: one line naming the file and line (or field) and what was expected."""


class HubUnavailable(ToolkitError):
    """A model or dataset could not be downloaded from the Hub (no network, no such repo, no access).

    Separate from other user errors so that a run that opted in (``--fallback-offline``) can switch,
    loudly, to the offline backbone and the bundled sample data.
    """


def one_line_errors(main: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap a command's ``main``: a :class:`ToolkitError` becomes its message on stderr and exit status 2.

    The messages name their kind ("data error: ...", "config error: ..."), so nothing is added to them.
    ``main`` returns its exit status (None counts as 0).
    """

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            with sigterm_as_exit():
                return main(*args, **kwargs) or 0
        except ToolkitError as err:
            print(err, file=sys.stderr)
            return 2

    return wrapper


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)``, so ``finally`` and ``except BaseException`` clean up.

    Python's default for SIGTERM ends the process on the spot, which would leave a run's staging folder for the
    next run to sweep. Nothing changes where another handler is installed already, or off the main thread
    (where no handler can be installed), nor for the processes it forks (a pool's workers die at once, as by default).
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    owner = os.getpid()

    def stop(signum: int, _frame) -> None:
        if os.getpid() != owner:  # a forked child (multiprocessing's workers, cleanlab's): ended on the spot, as
            signal.signal(signum, signal.SIG_DFL)  # Pool.terminate expects; exiting cleanly could block on its queues
            os.kill(os.getpid(), signum)
            return
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
