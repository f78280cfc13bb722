"""User errors in publishing: a :class:`PublishError` is printed as one line, no traceback, exit status 2.

It is the toolkit's :class:`~training.errors.ToolkitError` of this part, so the same ``one_line_errors``
wrapper serves ``python -m publish`` and ``python -m training --push-to-hub``.
"""

from training.errors import ToolkitError, one_line_errors

__all__ = ["PublishError", "one_line_errors"]


class PublishError(ToolkitError):
    """A problem the user can fix: a missing file, a bad repo id, a missing or rejected token.

    The message is one line naming the file (or field, or repo) and what was expected. It never
    contains a token.
    """
