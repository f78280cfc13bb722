"""Label a corpus with a trained model, streamed, resumable and runnable on many processes.

    python -m training.predict runs/emotion tweets.txt --output labels.parquet
    python -m training.predict me/distilbert-emotion 'data/*.jsonl' --output labels.csv --keep-text
    python -m training.predict runs/emotion dair-ai/emotion --split test --output test.parquet   # + metrics
    python -m training.predict runs/goemotions test.csv --label-columns anger,joy,... --output sets.parquet
    torchrun --nproc_per_node 8 -m training.predict runs/emotion big.parquet --output labels.parquet

Re-running the same command after a crash or ``kill -9`` continues from the last completed shard.
"""

from __future__ import annotations

import argparse
import sys

from formats.output_folder import BACKEND_ALIASES, canonical_backend
from training.errors import one_line_errors
from training.predict.model import BACKENDS
from training.predict.run import METRICS_FILE, PredictOptions, predict_corpus


def command_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """A parser for a command that runs MODEL (``training.predict``, ``training.ask``): ``doc``'s first paragraph
    as its description, the rest (the examples) as its epilog, and the MODEL argument."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        choices=BACKENDS,
        metavar="{" + ",".join(BACKENDS) + "}",
        help="auto: PyTorch bf16 on CUDA; on CPU the int8 ONNX model when MODEL has onnx/, else fp32 ONNX, "
        f"else PyTorch fp32. Also accepted: {', '.join(BACKEND_ALIASES)}.",
    )
    parser.add_argument("--split", default=None, help=f"Split of a Hub dataset {source} (default: its only split).")
    parser.add_argument("--text-column", default=defaults.text_column, help="Column holding the text.")
    parser.add_argument("--label-column", default=defaults.label_column, help=label_help)
    parser.add_argument(
        "--label-columns",
        default=None,
        help="Multi-label models: gold labels as one 0/1 (or true/false) column per label, comma-separated "
        "(csv/tsv/json/jsonl/parquet), named as the model's labels; replaces --label-column.",
    )
    parser.add_argument(
        "--multi-label",
        action="store_true",
        help="Multi-label models: a label cell holds several names separated by --label-separator (e.g. "
        "'joy,love'). Without it, a label column that holds lists is read as label sets.",
    )
    parser.add_argument(
        "--label-separator", default=defaults.label_separator, help="With --multi-label: what separates label names."
    )
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


def check_reading_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse contradictory or impossible values of :func:`add_reading_options`'s options (a usage error)."""
    if args.no_labels and (args.label_columns or args.multi_label):
        parser.error("--no-labels ignores gold labels: leave out --label-columns and --multi-label, or --no-labels")
    if args.label_columns is not None and not [c for c in args.label_columns.split(",") if c.strip()]:
        parser.error("--label-columns names no column — expected label columns separated by commas, e.g. anger,joy")
    for name in ("batch_size", "shard_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")


def parse_args(argv: list[str] | None = None) -> PredictOptions:
    defaults = PredictOptions("", "", "")
    parser = command_parser("python -m training.predict", __doc__)
    parser.add_argument(
        "input",
        help="What --data accepts for training: a file (.txt with one text per line or text;label, .csv, .tsv, "
        ".json, .jsonl, .parquet), a folder, a glob (quote it), an http(s) URL, or a Hub dataset id.",
    )
    parser.add_argument("--output", required=True, help="The output file: .parquet, .csv or .jsonl (by its extension).")
    add_reading_options(
        parser,
        defaults,
        source="INPUT",
        label_help=f"Column of gold labels; when the input has it, {METRICS_FILE} is written beside --output.",
    )
    parser.add_argument("--keep-text", action="store_true", help="Also copy each text into the output.")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace --output if it exists, and start over when the parts of an interrupted run cannot be resumed "
        "(another command, input or model). Never replaces an input, nor an output another run is writing.",
    )
    parser.add_argument("--metrics", default=None, help=f"Where to write {METRICS_FILE} (labelled input only).")
    args = parser.parse_args(argv)
    check_reading_options(parser, args)
    return PredictOptions(**vars(args))


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    """Run a prediction; a user error is one line on stderr and exit status 2 (no traceback)."""
    options = parse_args(argv)
    summary = predict_corpus(options)
    if summary is not None:
        print(summary["summary"])
        print(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
