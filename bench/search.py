"""Benchmark ``--search N`` against the default recipe on a 2,000-text training sample (not a test: it takes hours
on a CPU).

    python bench/search.py                                    # emotion and GoEmotions, default vs --search 12
    python bench/search.py --datasets emotion --recipes search --trials 12 --out runs/search

Each job is ``python -m training`` as a user runs it (offline backbone), into ``OUT/DATASET-RECIPE``; a finished
job appends one row to ``OUT/rows.jsonl`` and is skipped when the benchmark runs again, and a search killed midway
resumes its own study on the rerun. Rows: wall seconds, validation and test macro F1 and accuracy, and for a
search its trials (complete, pruned) and best options. The table printed at the end is what docs/search.md shows.

Data sets (``--data`` beside the repository, ``../shared/data``):
  * emotion: ``dair-ai/emotion`` files;
  * goemotions: GoEmotions, multi-label (28 labels); ``--min-class-examples 1`` since a 2,000-text sample holds
    fewer than 5 examples of its rarest labels.
Both: ``--train-samples`` training texts (2,000), validation and test subsampled to ``--eval-samples`` (1,000)
texts each (``--max-eval-samples``, seeded: the same texts for both recipes), to keep a 2-core CPU's time down.
Run it with ``OMP_NUM_THREADS=1`` on a shared CPU: torch's threads spinning against other processes' made a step
several times slower there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness import REPO, machine, pct, pp, print_table, ratio, training_args

from formats.output_folder import METRICS_FILE

SHARED = REPO.parent / "shared" / "data"
RECIPES = ("default", "search")  # the default recipe; --search TRIALS
DATASETS = {
    "emotion": {"data": SHARED / "emotion"},
    "goemotions": {
        "data": SHARED / "goemotions",
        "label_column": "labels",
        "min_class_examples": 1,
    },
}


def run_job(args, dataset: str, recipe: str) -> dict:
    """Train one (data set, recipe) with ``python -m training`` in a subprocess; its row."""
    scale = {"max_train_samples": args.train_samples, "max_eval_samples": args.eval_samples}
    name = f"{dataset}-{args.train_samples}-{recipe}"
    out, trials, folder = args.out, args.trials, args.out / name
    options = {**DATASETS[dataset], **scale, "model": "offline", "output_dir": folder, "report_to": "none"}
    if recipe == "search":
        options["search"] = trials
    log = out / f"{name}.log"
    began = time.perf_counter()
    with log.open("a", encoding="utf-8") as file:
        code = subprocess.call(
            [sys.executable, "-m", "training", *training_args(**options)], cwd=REPO, stdout=file, stderr=file
        )
    if code != 0:
        sys.exit(f"{dataset} {recipe}: python -m training exited {code}; see {log}")
    metrics = json.loads((folder / METRICS_FILE).read_text())
    row = {
        "dataset": dataset,
        "recipe": recipe,
        **scale,
        "wall_seconds": round(time.perf_counter() - began, 1),
        "training_seconds": metrics["training"]["seconds"],
        "epochs_run": metrics["training"]["schedule"]["epochs_run"],
        **{
            f"{split}_{key}": metrics["eval"][split][key]
            for split in ("validation", "test")
            for key in ("f1_macro", "accuracy")
        },
    }
    if "search" in metrics:
        search = metrics["search"]
        row["search"] = {key: search[key] for key in ("trials", "complete", "pruned", "seconds", "best", "importance")}
    return row


def print_rows(rows: list[dict]) -> None:
    """One table: each data set's default and search rows, and the differences and time ratio."""
    table = []
    for dataset, size in dict.fromkeys((row["dataset"], row["max_train_samples"]) for row in rows):
        by_recipe = {
            row["recipe"]: row for row in rows if (row["dataset"], row["max_train_samples"]) == (dataset, size)
        }
        dataset = f"{dataset} ({size:,} texts)"
        for recipe, row in by_recipe.items():
            table.append(
                (
                    dataset,
                    recipe,
                    pct(row["validation_f1_macro"]),
                    pct(row["test_f1_macro"]),
                    pct(row["test_accuracy"]),
                    f"{row['wall_seconds']:.0f} s",
                    "",
                )
            )
        if {"default", "search"} <= set(by_recipe):
            default, search = by_recipe["default"], by_recipe["search"]
            table.append(
                (
                    dataset,
                    "search − default",
                    pp(search["validation_f1_macro"] - default["validation_f1_macro"]),
                    pp(search["test_f1_macro"] - default["test_f1_macro"]),
                    pp(search["test_accuracy"] - default["test_accuracy"]),
                    "",
                    ratio(search["wall_seconds"] / default["wall_seconds"]),
                )
            )
    print_table(
        ["data", "recipe", "val macro F1", "test macro F1", "test accuracy", "wall", "time ratio"], table, "llrrrrr"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--train-samples", type=int, default=2000, help="the seeded training sample")
    parser.add_argument("--eval-samples", type=int, default=1000, help="validation and test: each subsampled so")
    parser.add_argument("--out", type=Path, default=Path("runs/search"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows_file = args.out / "rows.jsonl"
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()] if rows_file.is_file() else []
    print(machine())
    for dataset in args.datasets:
        for recipe in args.recipes:
            key = (dataset, recipe, args.train_samples, args.eval_samples)
            if any(
                (row["dataset"], row["recipe"], row["max_train_samples"], row["max_eval_samples"]) == key
                for row in rows
            ):
                continue
            row = run_job(args, dataset, recipe)
            rows.append(row)
            with rows_file.open("a", encoding="utf-8") as file:
                file.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    print_rows(rows)


if __name__ == "__main__":
    main()
