"""The one exception type for user errors in publishing (printed as one line, no traceback, exit code 2)."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: the reason a one-line
    user error quotes from a library's multi-line message."""
    message = str(err).strip()
    return message.splitlines()[0] if message else type(err).__name__


class PublishError(Exception):
    """A problem the user can fix: a missing file, a bad repo id, a missing or rejected token.

    The message is one line naming the file (or field, or repo) and what was expected. It never
    contains a token.
    """
