"""The flags CLI, run as ``python -m space.flags``: ``export``, ``pull`` and ``review`` (see flags.py).

A command never destroys data: a file it would write that already exists is replaced only with
``--overwrite`` (a review sheet holds the owner's ``y`` marks), and one of the command's own inputs (a flag
file, the ``--data`` training file) never, even with it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import flags
import review
from flags import FlagStoreError, export, one_line_errors, pull, read_records

from formats.writing import OVERWRITE_HELP, write_refusal

COMMAND = "python -m space.flags"
# Each command's examples, written with its name in the help (`python -m space.flags pull`, `emotk flags pull`).
EXAMPLES = {
    "export": ("--flag-dir flags/ --output flags.csv", "--flag-dir flags/ --output flags.jsonl --overwrite"),
    "pull": (
        "--repo-id me/emotion-flags --output-dir flags/     # token: HF_TOKEN or `hf auth login`",
        "--repo-id me/emotion-flags --output-dir pulled/    # then: python -m training --corrections pulled/",
    ),
    "review": (
        "--flag-dir flags/ --output review.csv",
        "--flag-dir flags/ --data data/ --output review.csv --overwrite",
    ),
}


def check_output(out: str | Path, inputs: list[Path], overwrite: bool) -> None:
    """The write rule of every command (``formats.writing``): never onto an input or into a model's folder, never
    over an existing file without ``overwrite``.

    Raises:
        FlagStoreError: one line naming the file and what to do.
    """
    refusal = write_refusal(out, "--output", overwrite=overwrite, inputs=inputs)
    if refusal:
        raise FlagStoreError(refusal)


def flag_files(flag_dir: str | Path) -> list[Path]:
    """The flag files a command reads from ``flag_dir`` (:func:`flags.read_records`)."""
    return sorted(Path(flag_dir).glob("*.jsonl"))


def examples(*commands: str) -> str:
    """A help's epilog: each command's examples, or with several commands the first example of each; argparse
    writes the parser's name in place of ``%(prog)s``."""
    if len(commands) == 1:
        lines = [f"    %(prog)s {args}" for args in EXAMPLES[commands[0]]]
    else:
        lines = [f"    %(prog)s {name} {EXAMPLES[name][0]}" for name in commands]
    return "examples:\n" + "\n".join(lines)


def build_parser(prog: str = COMMAND) -> argparse.ArgumentParser:
    """The CLI: ``export``, ``pull`` and ``review``. A command that writes one file takes ``--output``, one that
    writes a folder ``--output-dir``; ``--out``, their earlier spelling, still works for both.

    Args:
        prog: the command's name in its help and usage errors (``emotk flags`` when run by ``emotk``).
    """
    layout = {"formatter_class": argparse.RawDescriptionHelpFormatter}
    parser = argparse.ArgumentParser(
        prog=prog, description=flags.__doc__.split("\n\n")[0], epilog=examples(*EXAMPLES), **layout
    )
    commands = parser.add_subparsers(dest="command", required=True)
    flag_dir = {"default": os.environ.get("FLAG_DIR", "flags"), "help": "flag folder (default: $FLAG_DIR or flags)"}
    export_help = "write every flag of a flag folder to one .jsonl or .csv file"
    export_cmd = commands.add_parser(
        "export", help=export_help, description=export_help, epilog=examples("export"), **layout
    )
    export_cmd.add_argument("--flag-dir", **flag_dir)
    export_cmd.add_argument("--output", "--out", required=True, help="the file to write: .jsonl or .csv")
    export_cmd.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    pull_help = "download the flags synced to a Hub dataset repo (data/*.jsonl)"
    pull_cmd = commands.add_parser("pull", help=pull_help, description=pull_help, epilog=examples("pull"), **layout)
    pull_cmd.add_argument(
        "--repo-id",
        "--repo",
        required=True,
        help="dataset repo on the Hub, namespace/name (--repo: its earlier spelling)",
    )
    pull_cmd.add_argument("--output-dir", "--out", required=True, help="the folder to write the .jsonl files into")
    review_help = "one row per flagged text, with votes and an accept column"
    review_cmd = commands.add_parser(
        "review", help=review_help, description=review_help, epilog=examples("review"), **layout
    )
    review_cmd.add_argument("--flag-dir", **flag_dir)
    review_cmd.add_argument("--output", "--out", required=True, help="the file to write: the review sheet (.csv)")
    review_cmd.add_argument("--data", help="the training split (a text;label file, or a folder with train.txt)")
    review_cmd.add_argument(
        "--overwrite", action="store_true", help=f"{OVERWRITE_HELP} The y marks of the sheet it replaces are lost."
    )
    return parser


def export_command(args: argparse.Namespace) -> None:
    check_output(args.output, flag_files(args.flag_dir), args.overwrite)
    records = read_records(args.flag_dir)
    print(f"exported {len(records)} flags to {export(records, args.output)}")


def pull_command(args: argparse.Namespace) -> None:
    # A sync: the Hub's copy of a flag file replaces the older one of the same name, other files stay.
    refusal = write_refusal(args.output_dir, "--output-dir", overwrite=False, resumable=True)
    if refusal:
        raise FlagStoreError(refusal)
    files = pull(args.repo_id, args.output_dir)
    print(f"pulled {len(files)} flag files ({len(read_records(args.output_dir))} flags) into {args.output_dir}")


def review_command(args: argparse.Namespace) -> None:
    inputs = flag_files(args.flag_dir) + ([review.training_file(args.data)] if args.data else [])
    check_output(args.output, inputs, args.overwrite)
    rows = review.review_rows(
        read_records(args.flag_dir), review.read_training_labels(args.data) if args.data else None
    )
    out = review.write_review(rows, args.output)
    print(f"wrote {len(rows)} texts to review to {out}: mark the ones to use with y in the accept column")


COMMANDS = {"export": export_command, "pull": pull_command, "review": review_command}


def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Run one command; a user error (:class:`FlagStoreError`) exits with status 2 and one line on stderr.

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk flags`` when run by ``emotk``).
    """
    args = build_parser(prog).parse_args(argv)
    with one_line_errors(FlagStoreError, prefix="flags error"):
        COMMANDS[args.command](args)
    return 0
