"""The ``emotk`` command: a subcommand's arguments go to that part's own command, imported only when it runs
(so that ``emotk --help`` is quick, and ``emotk predict`` never imports the Space).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple


class Command(NamedTuple):
    """A subcommand: the part's command it runs, and what it does (the line ``emotk --help`` shows)."""

    target: str  # "module:function", a main(argv, prog) that returns the exit status
    summary: str


COMMANDS = {
    "train": Command("training.__main__:main", "fine-tune a transformer on labelled texts, and evaluate it"),
    "predict": Command("training.predict.__main__:main", "label a corpus with a trained model"),
    "ask": Command("training.ask.__main__:main", "the texts most worth labelling next, as a sheet to fill in"),
    "audit": Command("training.audit.__main__:main", "find the labels of a run's data that look wrong, as a sheet"),
    "export": Command("training.export.run:main", "export a trained model to ONNX (fp32 and int8)"),
    "compare": Command("training.compare.report:main", "what changed between two trained runs"),
    "publish": Command("publish.__main__:main", "publish a trained model and its model card to the Hub"),
    "flags": Command("space.flags_cli:main", "export, pull or review the flags of the Space"),
    "serve": Command("space:serve", "serve the Space's app on a trained model"),
}
DESCRIPTION = """The emotion toolkit: fine-tune a transformer to classify short texts, publish it, serve it.

Each COMMAND is a part's own command: emotk train is python -m training, emotk predict is python -m
training.predict, emotk flags is python -m space.flags, emotk serve MODEL is MODEL=MODEL python space/app.py,
and so on. emotk COMMAND --help shows its options."""
EXAMPLES = """examples:
    emotk train --data dair-ai/emotion --output-dir runs/emotion
    emotk predict runs/emotion tweets.txt --output labels.parquet
    emotk serve runs/emotion"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``emotk`` itself: its help lists the subcommands, each with its line."""
    parser = argparse.ArgumentParser(
        prog="emotk", description=DESCRIPTION, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        commands.add_parser(name, help=command.summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``emotk COMMAND ARGS...``: the command's own ``main`` with ARGS, named ``emotk COMMAND``.

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The command's exit status (2 for a usage error).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv[:1])  # --help, or a usage error that names the commands: both exit
    name, args = argv[0], argv[1:]
    module, function = COMMANDS[name].target.split(":")
    return getattr(importlib.import_module(module), function)(args, prog=f"{parser.prog} {name}")


if __name__ == "__main__":
    sys.exit(main())
