"""The one exception type for user errors in ``training/``.

A ``ToolkitError`` is something the user can fix (a bad data file, an unknown option, a model that
cannot be downloaded). The CLI prints its message as one line, without a traceback, and exits with
status 2; any other exception is a bug and keeps its traceback.
"""


class ToolkitError(Exception):
    """A user error: one line naming the file and line (or field) and what was expected."""


class HubUnavailable(ToolkitError):
    """A model or dataset could not be downloaded from the Hub (no network, no such repo, no access).

    Separate from other user errors so that a run that opted in (``--fallback-offline``) can switch,
    loudly, to the offline backbone and the bundled sample data.
    """
