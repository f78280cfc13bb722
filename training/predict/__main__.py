"""Label a corpus with a trained model, streamed, resumable and runnable on many processes.

    python -m training.predict runs/emotion tweets.txt --output labels.parquet
    python -m training.predict me/distilbert-emotion 'data/*.jsonl' --output labels.csv --keep-text
    python -m training.predict runs/emotion dair-ai/emotion --split test --output test.parquet   # + metrics
    python -m training.predict runs/goemotions test.csv --label-columns anger,joy,... --output sets.parquet
    torchrun --nproc_per_node 8 -m training.predict runs/emotion big.parquet --output labels.parquet

Re-running the same command after a crash or ``kill -9`` continues from the last completed shard.
"""

from __future__ import annotations

import sys

from formats.writing import OVERWRITE_HELP
from training.cli import add_reading_options, check_reading_options, command_parser, run_and_report
from training.errors import one_line_errors
from training.predict.run import METRICS_FILE, PredictOptions, predict_corpus

COMMAND = "python -m training.predict"


def parse_args(argv: list[str] | None = None, prog: str = COMMAND) -> PredictOptions:
    """The options of a prediction, from the command line (``prog``: the command's name in its help)."""
    defaults = PredictOptions("", "", "")
    parser = command_parser(prog, __doc__, COMMAND)
    parser.add_argument(
        "input",
        help="What --data accepts for training: a file (.txt with one text per line or text;label, .csv, .tsv, "
        ".json, .jsonl, .parquet), a folder, a glob (quote it), an http(s) URL, or a Hub dataset id.",
    )
    parser.add_argument(
        "--output", required=True, help="The file to write: .parquet, .csv or .jsonl (by its extension)."
    )
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
        help=f"{OVERWRITE_HELP} Also starts over when the parts of an interrupted run cannot be resumed (another "
        "command, input or model); never replaces an output another run is writing.",
    )
    parser.add_argument("--metrics", default=None, help=f"Where to write {METRICS_FILE} (labelled input only).")
    args = parser.parse_args(argv)
    check_reading_options(parser, args)
    return PredictOptions(**vars(args))


@one_line_errors
def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Run a prediction; a user error is one line on stderr and exit status 2 (no traceback).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk predict`` when run by ``emotk``).
    """
    return run_and_report(predict_corpus, parse_args(argv, prog))


if __name__ == "__main__":
    sys.exit(main())
