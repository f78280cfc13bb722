"""The one exception type for user errors in publishing (printed as one line, no traceback, exit code 2)."""


class PublishError(Exception):
    """A problem the user can fix: a missing file, a bad repo id, a missing or rejected token.

    The message is one line naming the file (or field, or repo) and what was expected. It never
    contains a token.
    """
