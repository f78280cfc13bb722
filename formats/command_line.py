"""How every command's ``--help`` reads: what the command does, its options, then its examples, written with the
name it was called by (``python -m training.predict``, or ``emotk predict`` when the ``emotk`` command runs it);
and the reason a one-line user error quotes from a library (:func:`first_line`), in every part and the Space.

Each command's ``main(argv, prog)`` builds its parser with :func:`help_texts` of its docstring (the commands of
``training`` and ``publish``; ``space/flags_cli.py`` writes its examples per subcommand, the same way).
"""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (HfArgumentParser's default formatter), the examples as written."""


def help_texts(doc: str, command: str, formatter_class: type = argparse.RawDescriptionHelpFormatter) -> dict:
    """An ``argparse.ArgumentParser``'s description and epilog from a command's docstring.

    Args:
        doc: the docstring: paragraphs of prose, and indented paragraphs of examples.
        command: how the examples spell the command (``python -m training.predict``); argparse writes the
            parser's ``prog`` in its place, so that ``emotk predict --help`` shows ``emotk predict`` examples.
        formatter_class: the help's formatter; by default one that keeps the lines as written.

    Returns:
        The keyword arguments ``description`` (the prose), ``epilog`` (the examples, last in the help) and
        ``formatter_class``.
    """
    paragraphs = doc.strip("\n").split("\n\n")
    prose = [p for p in paragraphs if not p.startswith("    ")]
    examples = "\n".join(p for p in paragraphs if p.startswith("    "))
    if command in examples:  # argparse %-formats a help text that holds %(prog): other % signs are escaped
        examples = examples.replace("%", "%%").replace(command, "%(prog)s")
    return {
        "description": "\n\n".join(prose),
        "epilog": f"examples:\n{examples}",
        "formatter_class": formatter_class,
    }


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: the reason a one-line
    user error quotes from a library's multi-line message."""
    message = str(err).strip()
    return message.splitlines()[0] if message else type(err).__name__
