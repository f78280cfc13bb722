"""The one exception type for user errors in ``training/``.

A ``ToolkitError`` is something the user can fix (a bad data file, an unknown option, a model that
cannot be downloaded). The CLI prints its message as one line, without a traceback, and exits with
status 2; any other exception is a bug and keeps its traceback.
"""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: the reason a one-line
    user error quotes from a library's multi-line message."""
    message = str(err).strip()
    return message.splitlines()[0] if message else type(err).__name__


class ToolkitError(Exception):
    """A user error: one line naming the file and line (or field) and what was expected."""


class HubUnavailable(ToolkitError):
    """A model or dataset could not be downloaded from the Hub (no network, no such repo, no access).

    Separate from other user errors so that a run that opted in (``--fallback-offline``) can switch,
    loudly, to the offline backbone and the bundled sample data.
    """
