"""Benchmark of the corrections loop: do flags that fix noisy labels win back accuracy?

On the emotion data (``../shared/data/emotion``): flip a fraction (10%) of the training labels of one
class (``surprise``, the weakest) to other classes to simulate label noise, train; then give half
of the flipped examples back as flag records (the Space's JSON-lines format) with their right
label and retrain with ``--corrections``. Prints the class F1, macro F1 and accuracy of both runs
side by side and writes ``python -m training.compare`` output into the corrected run's folder.

    .venv/bin/python bench/corrections.py                                   # full data, 2 epochs (GPU: minutes)
    .venv/bin/python bench/corrections.py --max-train-samples 2400 --epochs 1 --max-eval-samples 1000

The second only shows that the loop runs: a model trained for 38 steps is so far from converged that
relabelling a handful of 2400 rows can swing its test accuracy either way, so its metric deltas say
nothing about corrections. Measured figures: README, "Benchmarks".

Both runs train through the real CLI (``python -m training``) in a subprocess, with the same seed,
options and test split, so the only difference between them is the corrected labels.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness import DATA, REPO, machine, pct, pp, print_table, read_split, training_args

from formats.output_folder import COMPARISON_MD, CORRECTIONS_FILE, METRICS_FILE


def write_split(path: Path, rows: list[tuple[str, str]]):
    path.write_text("".join(f"{text};{label}\n" for text, label in rows), encoding="utf-8")


def flip_labels(rows, target: str, fraction: float, rng: random.Random) -> tuple[list, list[int]]:
    """Give ``fraction`` of the ``target`` rows another (random) class; return new rows and flipped indices."""
    classes = sorted({label for _, label in rows} - {target})
    candidates = [i for i, (_, label) in enumerate(rows) if label == target]
    flipped = sorted(rng.sample(candidates, round(fraction * len(candidates))))
    noisy = list(rows)
    for i in flipped:
        noisy[i] = (rows[i][0], rng.choice(classes))
    return noisy, flipped


def flag_records(rows, noisy, indices, rng: random.Random, model: str) -> list[dict]:
    """Flag records, as the Space writes them, correcting ``noisy`` back to ``rows`` at ``indices``."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "time": (start + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
            "text": rows[i][0],
            "predicted_label": noisy[i][1],  # what a model trained on the noisy label would likely say
            "scores": {},
            "corrected_label": rows[i][1],
            "note": "bench: simulated correction of a flipped label",
            "model": model,
            "model_revision": None,
        }
        for n, i in enumerate(indices)
    ]


def train(data_dir: Path, output_dir: Path, args, corrections: Path | None = None) -> dict:
    """Run ``python -m training`` and return its metrics.json."""
    options = training_args(
        data=data_dir,
        model=args.model,
        output_dir=output_dir,
        epochs=args.epochs,
        seed=args.seed,
        max_eval_samples=args.max_eval_samples,
        corrections=corrections,
    )
    command = [sys.executable, "-m", "training", *options]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)
    return json.loads((output_dir / METRICS_FILE).read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with train/validation/test .txt")
    parser.add_argument(
        "--output-dir",
        "--out",  # the earlier spelling
        type=Path,
        default=REPO / "runs" / "bench-corrections",
        help="work folder (data copies, runs)",
    )
    parser.add_argument("--model", default="offline", help="backbone passed to python -m training --model")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument(
        "--max-train-samples",
        type=int,
        default=None,
        help="train on a seeded random subset of this size (noise is added within it)",
    )
    parser.add_argument("--max-eval-samples", type=int, default=None, help="passed to python -m training")
    parser.add_argument("--target", default="surprise", help="class whose labels get noisy")
    parser.add_argument("--noise", type=float, default=0.10, help="fraction of the target class flipped")
    parser.add_argument("--fixed", type=float, default=0.5, help="fraction of the flipped labels sent back as flags")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    # 1. Noisy copy of the data (outside git: runs/ is ignored). Validation/test stay as they are.
    train_rows = read_split(args.data / "train.txt")
    if args.max_train_samples and args.max_train_samples < len(train_rows):
        train_rows = rng.sample(train_rows, args.max_train_samples)
    noisy_rows, flipped = flip_labels(train_rows, args.target, args.noise, rng)
    data_dir = args.output_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    write_split(data_dir / "train.txt", noisy_rows)
    for name in ("validation", "test"):
        write_split(data_dir / f"{name}.txt", read_split(args.data / f"{name}.txt"))

    # 2. Flags for half of the flipped examples, in the flag store's format (one JSON object a line).
    fixed = sorted(rng.sample(flipped, round(args.fixed * len(flipped))))
    flags = args.output_dir / "flags" / "flags-bench.jsonl"
    flags.parent.mkdir(parents=True, exist_ok=True)
    records = flag_records(train_rows, noisy_rows, fixed, rng, model=str(args.output_dir / "noisy"))
    flags.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    print(
        f"train rows: {len(train_rows)}, {args.target}: {sum(lab == args.target for _, lab in train_rows)}, "
        f"flipped: {len(flipped)}, corrected by flags: {len(fixed)}",
        flush=True,
    )

    # 3. Train on the noisy data, then again with the flags; compare on the same test split.
    noisy = train(data_dir, args.output_dir / "noisy", args)
    corrected = train(data_dir, args.output_dir / "corrected", args, corrections=flags.parent)
    subprocess.run(
        [sys.executable, "-m", "training.compare", str(args.output_dir / "noisy"), str(args.output_dir / "corrected")],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    summary = json.loads((args.output_dir / "corrected" / CORRECTIONS_FILE).read_text())
    print(f"\ncorrections: {summary['used']} used, {summary['relabelled']} relabelled, {summary['rejected']} rejected")
    rows = [
        (f"{args.target} F1", lambda m: m["per_class"][args.target]["f1"]),
        ("macro F1", lambda m: m["f1_macro"]),
        ("accuracy", lambda m: m["accuracy"]),
    ]
    print(f"{machine()}\n")
    before, after = noisy["eval"]["test"], corrected["eval"]["test"]
    print_table(
        ["test metric", "noisy labels", f"+ {summary['used']} corrections", "Δ"],
        [(name, pct(get(before)), pct(get(after)), pp(get(after) - get(before))) for name, get in rows],
    )
    print(f"\ncomparison: {args.output_dir / 'corrected' / COMPARISON_MD}")


if __name__ == "__main__":
    main()
