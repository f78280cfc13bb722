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

from formats.writing import write_refusal


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


def build_parser() -> argparse.ArgumentParser:
    """The CLI: ``export``, ``pull`` and ``review``. A command that writes one file takes ``--output``, one that
    writes a folder ``--output-dir``; ``--out``, their earlier spelling, still works for both."""
    parser = argparse.ArgumentParser(prog="python -m space.flags", description=flags.__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    flag_dir = {"default": os.environ.get("FLAG_DIR", "flags"), "help": "flag folder (default: $FLAG_DIR or flags)"}
    export_cmd = commands.add_parser("export", help="write every flag of a flag folder to one .jsonl or .csv file")
    export_cmd.add_argument("--flag-dir", **flag_dir)
    export_cmd.add_argument("--output", "--out", required=True, help="the file to write, .jsonl or .csv")
    export_cmd.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    pull_cmd = commands.add_parser("pull", help="download the flags synced to a Hub dataset repo (data/*.jsonl)")
    pull_cmd.add_argument("--repo", required=True, help="dataset repo id, e.g. me/emotion-flags")
    pull_cmd.add_argument("--output-dir", "--out", required=True, help="folder to write the .jsonl files into")
    review_cmd = commands.add_parser("review", help="one row per flagged text, with votes and an accept column")
    review_cmd.add_argument("--flag-dir", **flag_dir)
    review_cmd.add_argument("--output", "--out", required=True, help="the review sheet to write (.csv)")
    review_cmd.add_argument("--data", help="the training split (a text;label file, or a folder with train.txt)")
    review_cmd.add_argument(
        "--overwrite", action="store_true", help="replace --output if it exists (and the y marks it holds)"
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
    files = pull(args.repo, args.output_dir)
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


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user error (:class:`FlagStoreError`) exits with status 2 and one line on stderr."""
    args = build_parser().parse_args(argv)
    with one_line_errors(FlagStoreError, prefix="flags error"):
        COMMANDS[args.command](args)
    return 0
