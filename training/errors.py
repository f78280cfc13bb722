"""User errors of the toolkit's commands (``training``, ``publish``): one exception type, one line, exit 2.

A ``ToolkitError`` is something the user can fix (a bad data file, an unknown option, a model that
cannot be downloaded). A command's ``main`` wrapped in :func:`one_line_errors` prints its message as one
line, without a traceback, and exits with status 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


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
            return main(*args, **kwargs) or 0
        except ToolkitError as err:
            print(err, file=sys.stderr)
            return 2

    return wrapper
