"""What ``training.predict`` and ``training.ask`` share on their command line: MODEL, how it runs, and how the
data source is read (the reading options, declared in ``training.data.options``).

Their help is laid out as every command's (``formats.command_line``): each ``main`` takes a ``prog``.
"""

from __future__ import annotations

import argparse
import dataclasses

from formats.command_line import help_texts
from formats.output_folder import BACKEND_ALIASES, BACKEND_CHOICES, canonical_backend
from training.data.options import ReadingOptions, separator_without_multi_label


def command_parser(prog: str, doc: str, command: str) -> argparse.ArgumentParser:
    """A parser for a command that runs MODEL (``training.predict``, ``training.ask``): :func:`help_texts` of
    ``doc``, and the MODEL argument."""
    parser = argparse.ArgumentParser(prog=prog, **help_texts(doc, command))
    parser.add_argument("model", help="A folder written by `python -m training`, or a Hub model id.")
    return parser


def add_reading_options(parser: argparse.ArgumentParser, defaults, source: str, label_help: str) -> None:
    """The options ``training.predict`` and ``training.ask`` share: how MODEL runs and how ``source`` is read.

    Args:
        parser: the command's parser.
        defaults: its options dataclass with default values (``PredictOptions`` or ``AskOptions``).
        source: how the command's help names what is read (``INPUT``, ``POOL``).
        label_help: the help of ``--label-column`` (what the command does with gold labels).
    """
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of MODEL.")
    parser.add_argument(
        "--backend",
        default="auto",
        type=canonical_backend,  # the earlier spellings (pytorch, onnx_int8, onnx_fp32) still work
        choices=BACKEND_CHOICES,
        metavar="{" + ",".join(BACKEND_CHOICES) + "}",
        help="auto: PyTorch bf16 on CUDA; on CPU the int8 ONNX model when MODEL has onnx/, else fp32 ONNX, "
        f"else PyTorch fp32. Also accepted: {', '.join(BACKEND_ALIASES)}.",
    )
    parser.add_argument("--split", default=None, help=f"Split of a Hub dataset {source} (default: its only split).")
    add_option_fields(parser, ReadingOptions, {"label_column": label_help})
    parser.add_argument("--id-column", default=None, help="Column copied as each row's id (default: row number).")
    parser.add_argument("--no-labels", action="store_true", help="Ignore labels; a .txt is one text per line.")
    parser.add_argument("--batch-size", type=int, default=None, help="Texts per batch (default 64 CPU, 1024 CUDA).")
    parser.add_argument(
        "--shard-size",
        type=int,
        default=defaults.shard_size,
        help="Rows per shard: the unit of resuming and of work shared between processes.",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: all / processes).")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="No progress bar.")


def add_option_fields(parser: argparse.ArgumentParser, options: type, helps: dict[str, str]) -> None:
    """An argparse option for each field of the dataclass ``options``, with the field's help (or ``helps``'s for
    its name): a flag for a bool, else a value whose default is None when not given, so that
    :func:`check_reading_options` can tell an option given from one left out."""
    for option in dataclasses.fields(options):
        flag, help_ = "--" + option.name.replace("_", "-"), helps.get(option.name, option.metadata["help"])
        if isinstance(option.default, bool):
            parser.add_argument(flag, action="store_true", help=help_)
        else:
            shown = "" if option.default is None else f" (default: {option.default!r})"
            parser.add_argument(flag, default=None, help=help_ + shown)


def check_reading_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse contradictory, ignored or impossible values of :func:`add_reading_options`'s options (a usage error,
    one line: :func:`usage_error`), then give the reading options left out their defaults."""
    if args.no_labels and (args.label_columns or args.multi_label):
        usage_error(
            parser, "--no-labels ignores gold labels: leave out --label-columns and --multi-label, or --no-labels"
        )
    if args.label_separator is not None and not args.multi_label:
        usage_error(parser, separator_without_multi_label(args.label_separator))
    if args.label_columns is not None and not [c for c in args.label_columns.split(",") if c.strip()]:
        usage_error(
            parser, "--label-columns names no column — expected label columns separated by commas, e.g. anger,joy"
        )
    for name in ("batch_size", "shard_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            usage_error(parser, f"--{name.replace('_', '-')} must be at least 1")
    for option in dataclasses.fields(ReadingOptions):
        if getattr(args, option.name) is None:
            setattr(args, option.name, option.default)


def usage_error(parser: argparse.ArgumentParser, message: str) -> None:
    """Exit with status 2 and one line, ``PROG: error: MESSAGE``: argparse's ``error`` without the usage lines
    before it, which say nothing about a contradiction between options."""
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def run_and_report(command, options) -> int:
    """Run ``command`` (``predict_corpus``, ``ask``) with ``options``; the main process prints its summary and
    what it wrote (the other processes of a torchrun job get None and print nothing)."""
    summary = command(options)
    if summary is not None:
        print(summary["summary"])
        print(f"wrote {options.output}")
    return 0
