"""Find the labels of a run's data that look wrong (confident learning), as a sheet to fill in.

    python -m training.audit runs/emotion --output suspects.csv
    python -m training.audit runs/emotion --split test --budget 100 --output test_suspects.csv
    python -m training.audit runs/emotion --split all --method fine-tune --folds 5 --output suspects.jsonl

Fill in the sheet's `label` column (the right label, keep or drop), then train on it: python -m training
--corrections suspects.csv (--correct-eval to apply its validation/test rows too). The estimate of the share of
wrong labels goes into RUN_DIR (label_noise.json, label_noise.png), from there into the card and training.compare.
"""

from __future__ import annotations

import argparse
import sys

from formats.command_line import help_texts
from formats.output_folder import CORRECTIONS_FILE
from formats.writing import OVERWRITE_HELP
from training.audit.probabilities import METHODS
from training.audit.run import ALL, SPLITS, AuditOptions, audit
from training.cli import run_and_report
from training.errors import one_line_errors

COMMAND = "python -m training.audit"


def parse_args(argv: list[str] | None = None, prog: str = COMMAND) -> AuditOptions:
    """The options of ``training.audit``, from the command line (``prog``: the command's name in its help)."""
    defaults = AuditOptions("", "")
    parser = argparse.ArgumentParser(prog=prog, **help_texts(__doc__, COMMAND))
    parser.add_argument("run_dir", help="An output folder of python -m training whose data is on this disk or the Hub.")
    parser.add_argument("--output", required=True, help="The sheet to write, .csv or .jsonl (by its extension).")
    parser.add_argument(
        "--split", default=defaults.split, choices=(*SPLITS, ALL), help="Which split to audit (default: %(default)s)."
    )
    parser.add_argument("--budget", type=int, default=None, help="At most this many rows in the sheet (default: all).")
    parser.add_argument(
        "--method",
        default=defaults.method,
        choices=METHODS,
        help="How the training texts get out-of-sample probabilities: logistic (default): K-fold logistic "
        "regression on the run's fine-tuned embeddings; logistic-frozen: on the backbone's embeddings; fine-tune: "
        "K-fold fine-tuning with the run's recipe (K trainings: a GPU job); dynamics: the run's own training "
        "dynamics, recorded while it trained (free; only the texts it trained on). Validation/test: the run's model.",
    )
    parser.add_argument("--folds", type=int, default=defaults.folds, help="K of --method (default: %(default)s).")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="Seed of the folds.")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="SHEET",
        help="An earlier filled audit sheet (repeatable): its keep rows are never asked again (the run's "
        f"{CORRECTIONS_FILE} remembers those of the sheet it was trained with).",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all).")
    parser.add_argument(
        "--overwrite", action="store_true", help=f"{OVERWRITE_HELP} Also replaces an estimate of the same split."
    )
    args = parser.parse_args(argv)
    return AuditOptions(**{**vars(args), "exclude": tuple(args.exclude)})


@one_line_errors
def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Write the sheet and the estimate; a user error is one line on stderr and exit status 2 (no traceback).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk audit`` when run by ``emotk``).
    """
    return run_and_report(audit, parse_args(argv, prog))


if __name__ == "__main__":
    sys.exit(main())
