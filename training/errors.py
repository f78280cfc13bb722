"""The one exception type for user errors in ``training/``.

A ``ToolkitError`` is something the user can fix (a bad data file, an unknown option, a model that
cannot be downloaded). The CLI prints its message as one line, without a traceback, and exits with
status 2; any other exception is a bug and keeps its traceback.
"""


class ToolkitError(Exception):
    """A user error: one line naming the file and line (or field) and what was expected."""
