"""Choose the texts of POOL most worth labelling next, and write them as a sheet to fill in.

    python -m training.ask runs/emotion tweets.txt --budget 200 --output sheet.csv
    python -m training.ask runs/emotion 'new/*.jsonl' --budget 500 --strategy margin --output sheet.csv
    python -m training.ask me/distilbert-emotion pool.csv --exclude train.csv --budget 100 --output sheet.jsonl
    python -m training.ask offline tweets.txt --budget 500 --output first.csv   # no model yet: typical texts
    torchrun --nproc_per_node 8 -m training.ask runs/emotion big.parquet --budget 1000 --output sheet.csv

Fill in the sheet's `label` column, then train on it: python -m training --corrections sheet.csv.
POOL is labelled by training.predict (same readers, backends, processes, and resume after a crash).
Texts of MODEL's training data and every validation/test text are never asked.
"""

from __future__ import annotations

import sys

from formats.writing import OVERWRITE_HELP
from training.ask.ranking import DEFAULT, STRATEGIES
from training.ask.run import AskOptions, ask
from training.cli import add_reading_options, check_reading_options, command_parser, run_and_report
from training.errors import one_line_errors

COMMAND = "python -m training.ask"


def parse_args(argv: list[str] | None = None, prog: str = COMMAND) -> AskOptions:
    """The options of ``training.ask``, from the command line (``prog``: the command's name in its help)."""
    defaults = AskOptions("", "", "")
    parser = command_parser(prog, __doc__, COMMAND)
    parser.add_argument(
        "pool",
        help="The texts to choose from: anything training.predict reads (a file, a folder, a quoted glob, an "
        "http(s) URL, a Hub dataset id with --split).",
    )
    parser.add_argument(
        "--output", required=True, help="The file to write: the sheet, .csv or .jsonl (by its extension)."
    )
    parser.add_argument("--budget", type=int, required=True, help="How many texts to ask about.")
    parser.add_argument(
        "--strategy",
        default=DEFAULT,
        choices=STRATEGIES,
        help="random (default; the only one measured not to lose to chance on the emotion benchmark): a seeded "
        "sample; balanced: a random fifth of --budget, the rest split over the predicted classes, the classes "
        "the model's training data has fewest of first, sampled in proportion to margin uncertainty within a class, "
        "never from the sparsest tenth of the pool; margin: the smallest gap between the two likeliest classes first "
        "(multi-label: a label nearest its threshold); entropy: the flattest probabilities first. Never two "
        "near-duplicates (cosine >= 0.95). Ignored when MODEL is a base encoder (no trained head: "
        "offline, an encoder folder or Hub id): the sheet then holds the most typical text of each of --budget "
        "clusters.",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="Seed of the random choices (balanced, random, the clusters of a base encoder).",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FILE",
        help="Texts never to ask about (repeatable): any data file, folder or glob training.predict reads, "
        "e.g. the training data of a Hub MODEL, or an earlier sheet.",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="Fill the `label` column with POOL's gold labels, for the chosen texts only (benchmarks).",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"{OVERWRITE_HELP} Also replaces the predictions of an earlier run.",
    )
    parser.add_argument(
        "--keep-predictions", action="store_true", help="Keep POOL's predictions (OUTPUT.predictions.parquet)."
    )
    add_reading_options(
        parser,
        defaults,
        source="POOL",
        label_help="Column of gold labels (read only with --simulate; POOL's labels are otherwise ignored).",
    )
    args = parser.parse_args(argv)
    check_reading_options(parser, args)
    return AskOptions(**{**vars(args), "exclude": tuple(args.exclude)})


@one_line_errors
def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Write the sheet; a user error is one line on stderr and exit status 2 (no traceback).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk ask`` when run by ``emotk``).
    """
    return run_and_report(ask, parse_args(argv, prog))


if __name__ == "__main__":
    sys.exit(main())
