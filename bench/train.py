"""Benchmark training on the real emotion data (not a test: it takes minutes to an hour).

    python bench/train.py                                   # the pipeline: --model offline, full train, defaults
    python bench/train.py --epochs 2 --class-weights none   # the recipe before early stopping and class weights
    python bench/train.py --recipes --max-train-samples 3000    # before / --epochs 2, 4, 8 / default: one table
    python bench/train.py --max-train-samples 2000 --epochs 1   # a quick estimate first
    python bench/train.py --seeds 1 2 3                     # GPU: the default recipe for 3 seeds, mean ± std
    python bench/train.py --speed                           # GPU: seed recipe vs ours, samples/s, same run

Default mode runs ``python -m training`` end to end on ``../shared/data/emotion`` and prints test
accuracy, macro F1, the rare class's F1 (``--rare-class``, surprise), test ECE before and after
temperature scaling, the epochs run and kept, and train samples/s (targets: README, "Benchmarks").

``--recipes`` trains the recipes of ``RECIPES`` one after the other on the same data (the full
validation and test splits; ``--max-train-samples`` subsamples training with the seed) and prints them
in one table: the default recipe must be within 1 point of test macro F1 of the best fixed epoch count.
``--reuse`` reads a finished run's metrics.json instead of training it again.

``--seeds`` runs the default (or ``--epochs``/``--class-weights``) pipeline once per seed, into
``OUTPUT_DIR/seed-N``, and prints every run and the mean ± standard deviation of test accuracy and macro F1
(the GPU target: a mean test accuracy of at least 93%).

``--speed`` trains the DistilBERT architecture (``DistilBertConfig()``, random weights: no machine
here can download the real ones) for one epoch twice, side by side in one process:
  * seed recipe: every text padded to the longest in the dataset, fp32, batch 64, random batches;
  * ours: the settings of ``training.train`` (unpadded tokens, ``DataCollatorWithPadding`` per batch,
    length-grouped batches, bf16/fp16, loader workers, pinned memory), batch 64;
and prints both samples/s and their ratio (target >= 2.5x). Evaluation and checkpoints are off in
both, so only training is timed. Measured figures: README, "Benchmarks".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import DATA, REPO, machine, pct, pp, print_table, ratio, training_args

from formats.output_folder import METRICS_FILE

# The recipes of the --recipes table: (name, python -m training options beyond data/model/sizes).
RECIPES = [
    # The product before early stopping, class weights and calibration (the offline alias's lr, 2 epochs).
    ("before (2 epochs, no class weights)", {"epochs": 2, "class_weights": "none"}),
    ("--epochs 2", {"epochs": 2}),
    ("--epochs 4", {"epochs": 4}),
    ("--epochs 8", {"epochs": 8}),
    ("default (early stopping)", {}),
]


def train_once(args, output_dir: Path, **options) -> dict:
    """``python -m training`` as a user runs it, into ``output_dir``; its metrics.json plus the wall time.

    ``options`` are added to (or override) the bench's data, model, sizes and seed. With ``--reuse``, a
    finished run (its metrics.json present) is read instead of trained again.
    """
    from training.__main__ import main

    metrics_file = output_dir / METRICS_FILE
    if not (args.reuse and metrics_file.is_file()):
        names = ("data", "model", "max_train_samples", "max_eval_samples", "seed")
        passed = {name: getattr(args, name) for name in names}
        start = time.perf_counter()
        if main(training_args(**{**passed, **options}, output_dir=output_dir)) != 0:
            sys.exit(2)
        (output_dir / "wall_seconds.txt").write_text(f"{time.perf_counter() - start:.0f}\n")
    metrics = json.loads(metrics_file.read_text())
    wall = output_dir / "wall_seconds.txt"
    metrics["wall_seconds"] = float(wall.read_text()) if wall.is_file() else None
    return metrics


def result_row(name: str, metrics: dict, rare: str) -> tuple:
    """One table row: what ran, test scores, the rare class's F1, calibration and time."""
    test, training = metrics["eval"]["test"], metrics["training"]
    schedule = training.get("schedule", {})
    calibration = metrics.get("calibration", {}).get("test", {})
    ece = (
        f"{calibration['ece_before']:.4f} → {calibration['ece_after']:.4f}"
        + ("" if metrics["calibration"]["applied"] else " (not applied)")
        if calibration
        else "–"
    )
    return (
        name,
        f"{schedule.get('epochs_run', '?')} / {schedule.get('best_epoch', '?')}",
        pct(test["accuracy"]),
        pct(test["f1_macro"]),
        pct(test["per_class"][rare]["f1"]) if rare in test["per_class"] else "–",
        ece,
        f"{training['seconds']:.0f}",
    )


def result_header(rare: str) -> list[str]:
    """The columns of :func:`result_row`."""
    return ["recipe", "epochs run / kept", "test accuracy", "test macro F1", f"{rare} F1", "test ECE", "train s"]


def chosen_options(args) -> dict:
    """The recipe options given on the bench's command line (the rest are the product's defaults)."""
    return {k: v for k, v in {"epochs": args.epochs, "class_weights": args.class_weights}.items() if v is not None}


def run_pipeline(args) -> None:
    """One run of the pipeline with the product's defaults (or --epochs/--class-weights), then its figures."""
    options = chosen_options(args)
    metrics = train_once(args, args.output_dir, **options)
    training = metrics["training"]
    print(
        f"\nbench/train.py  model={args.model}  data={args.data}  train={metrics['data']['sizes']['train']}  "
        f"options={options}  "
        f"device={training['device']} ({training['precision']}); {machine()}\n"
    )
    header = [*result_header(args.rare_class), "samples/s", "whole run s"]
    row = result_row("this run", metrics, args.rare_class)
    print_table(header, [(*row, f"{training['samples_per_second']:.1f}", f"{metrics['wall_seconds'] or 0:.0f}")])
    print(f"\nepochs: {training.get('schedule', {}).get('reason', '?')}")
    print_calibration(metrics)


def print_calibration(metrics: dict) -> None:
    """The calibration block of metrics.json as one table (both splits, before and after)."""
    calibration = metrics.get("calibration")
    if not calibration:
        return
    state = "applied" if calibration["applied"] else f"not applied ({calibration['reason']})"
    print(f"\ntemperature {calibration['temperature']:.4f}, {state}")
    print_table(
        ["split", "ECE before", "ECE after", "NLL before", "NLL after"],
        [
            (
                split,
                *(f"{calibration[split][key]:.4f}" for key in ("ece_before", "ece_after", "nll_before", "nll_after")),
            )
            for split in ("validation", "test")
            if split in calibration
        ],
    )


def run_recipes(args) -> None:
    """The recipes of RECIPES one after the other on the same data, then one table of all of them."""
    rows = []
    for name, options in RECIPES:
        folder = args.output_dir / name.split(" (")[0].replace("--", "").replace(" ", "-")
        print(f"\n=== {name}: {folder}", flush=True)
        metrics = train_once(args, folder, **options)
        rows.append((name, metrics))
    print(
        f"\nbench/train.py --recipes  model={args.model}  train={rows[0][1]['data']['sizes']['train']}  "
        f"validation/test={rows[0][1]['data']['sizes'].get('validation')}/{rows[0][1]['data']['sizes'].get('test')}; "
        f"{machine()}\n"
    )
    print_table(result_header(args.rare_class), [result_row(name, metrics, args.rare_class) for name, metrics in rows])
    fixed = {name: m["eval"]["test"]["f1_macro"] for name, m in rows if name.startswith("--epochs")}
    best = max(fixed, key=fixed.get)
    default = rows[-1][1]["eval"]["test"]["f1_macro"]
    before = rows[0][1]["eval"]["test"]["f1_macro"]
    print(
        f"\ndefault vs best fixed ({best}): {pp(default - fixed[best])} macro F1 (target: within 1 point); "
        f"default vs before: {pp(default - before)}"
    )
    print(f"default's epochs: {rows[-1][1]['training']['schedule']['reason']}")
    print_calibration(rows[-1][1])


def run_seeds(args) -> None:
    """The pipeline once per seed of ``--seeds``, then each run and the mean ± std across seeds."""
    options = chosen_options(args)
    rows = []
    for seed in args.seeds:
        folder = args.output_dir / f"seed-{seed}"
        print(f"\n=== seed {seed}: {folder}", flush=True)
        rows.append((f"seed {seed}", train_once(args, folder, **options, seed=seed)))
    training = rows[0][1]["training"]
    print(
        f"\nbench/train.py --seeds {' '.join(map(str, args.seeds))}  model={args.model}  "
        f"train={rows[0][1]['data']['sizes']['train']}  options={options}  "
        f"device={training['device']} ({training['precision']}); {machine()}\n"
    )
    print_table(result_header(args.rare_class), [result_row(name, metrics, args.rare_class) for name, metrics in rows])
    for key, name in (("accuracy", "test accuracy"), ("f1_macro", "test macro F1")):
        values = np.array([metrics["eval"]["test"][key] for _, metrics in rows])
        std = values.std(ddof=1) if len(values) > 1 else 0.0
        print(f"{name}: mean {pct(values.mean())} ± {pct(std)} (sample std over {len(values)} seeds)")
    print("\ntarget (GPU, full set, default recipe): mean test accuracy >= 93%")


def time_training(trainer) -> float:
    """Train for the configured epoch and return samples/s of the training loop alone."""
    output = trainer.train()
    return float(output.metrics["train_samples_per_second"])


def run_speed(args) -> None:
    """Seed recipe vs ours on the DistilBERT architecture, one epoch each, in this process."""
    import torch
    from transformers import (
        DataCollatorWithPadding,
        DistilBertConfig,
        DistilBertForSequenceClassification,
        Trainer,
        TrainingArguments,
    )

    from training.backbones import ALIASES
    from training.config import parse_config
    from training.data.load import load_data, subsample
    from training.train import ClassifierTrainer, detect_hardware, tokenize_splits, training_arguments

    if not torch.cuda.is_available():
        print("note: no GPU here: --speed compares GPU recipes; figures on CPU say little (bf16 on CPU is slow)")
    hardware = detect_hardware("auto")
    data = subsample(load_data(str(args.data)), args.max_train_samples, None, seed=42)
    # DistilBERT-base-uncased uses the bert-base-uncased WordPiece vocabulary, which the offline
    # backbone ships: the same tokens without any download.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ALIASES["offline"].path())
    train = {"train": data.splits["train"]}
    labels = data.labels

    def fresh_model():
        torch.manual_seed(0)
        return DistilBertForSequenceClassification(DistilBertConfig(num_labels=len(labels)))

    scratch = Path(tempfile.mkdtemp(prefix="bench-train-"))
    common = dict(
        num_train_epochs=1,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        disable_tqdm=False,
    )

    # Seed recipe: `dataset.map(tokenize, batched=True, batch_size=None)` with padding=True pads every
    # text to the longest of the whole dataset; fp32; batch 64; Trainer defaults otherwise.
    padded = train["train"].map(
        lambda b: tokenizer(b["text"], padding=True, truncation=True),
        batched=True,
        batch_size=None,
        remove_columns=["text"],
    )
    seed_args = TrainingArguments(
        output_dir=str(scratch / "seed"),
        per_device_train_batch_size=64,
        learning_rate=2e-5,
        weight_decay=0.01,
        **common,
    )
    seed_trainer = Trainer(model=fresh_model(), args=seed_args, train_dataset=padded, processing_class=tokenizer)

    # Ours: exactly the settings training.train ships, with evaluation and checkpoints off.
    config, _ = parse_config(["--batch-size", "64", "--epochs", "1", "--output-dir", str(scratch)])
    ours_args = training_arguments(config, hardware, scratch / "ours", len(train["train"]))
    ours_args = dataclasses.replace(
        ours_args, eval_strategy="no", save_strategy="no", load_best_model_at_end=False, logging_steps=50
    )
    tokenized = tokenize_splits(train, tokenizer, config.max_length)["train"]
    collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if hardware.precision != "fp32" else None)
    ours_trainer = ClassifierTrainer(
        model=fresh_model(), args=ours_args, train_dataset=tokenized, processing_class=tokenizer, data_collator=collator
    )

    if torch.cuda.is_available():  # CUDA context, kernels and allocator warm before either is timed
        warm = torch.nn.Linear(8, 8).cuda()
        warm(torch.randn(8, 8, device="cuda")).sum().backward()
        torch.cuda.synchronize()
    seed_speed = time_training(seed_trainer)
    ours_speed = time_training(ours_trainer)
    longest = len(padded[0]["input_ids"])
    print(
        f"\nbench/train.py --speed  DistilBertConfig() random weights, {len(tokenized)} texts, 1 epoch, batch 64, "
        f"{hardware.device} ({hardware.name}); {machine()}\n"
    )
    print_table(
        ["recipe", "samples/s", "vs seed"],
        [
            (f"seed (padded to {longest} tokens, fp32)", f"{seed_speed:.1f}", ratio(1)),
            (
                f"ours (dynamic padding, length groups, {hardware.precision})",
                f"{ours_speed:.1f}",
                ratio(ours_speed / seed_speed),
            ),
        ],
    )
    print("\ntarget: ours >= 2.5× the seed recipe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="emotion data folder (default: %(default)s)")
    parser.add_argument("--model", default="offline", help="backbone (default: the offline alias)")
    parser.add_argument("--epochs", type=float, default=None, help="default: the product's (early stopping)")
    parser.add_argument("--class-weights", choices=["balanced", "none"], default=None, help="default: the product's")
    parser.add_argument("--max-train-samples", type=int, default=None, help="subset for a quick estimate")
    parser.add_argument("--seed", type=int, default=None, help="default: the product's (42); also picks the subset")
    parser.add_argument("--max-eval-samples", type=int, default=None, help="validation/test subset (quick runs)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "bench-train")
    parser.add_argument("--speed", action="store_true", help="GPU: seed recipe vs ours, samples/s and ratio")
    parser.add_argument(
        "--recipes", action="store_true", help="before / --epochs 2, 4, 8 / default, one after the other, one table"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="run once per seed; print mean ± std (GPU: 1 2 3)"
    )
    parser.add_argument("--rare-class", default="surprise", help="the class whose F1 the table shows")
    parser.add_argument("--reuse", action="store_true", help="read finished runs (metrics.json) instead of training")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"bench error: {args.data}: no such folder (the real emotion data: train/validation/test.txt)")
    if args.speed:
        run_speed(args)
    elif args.recipes:
        run_recipes(args)
    elif args.seeds:
        run_seeds(args)
    else:
        run_pipeline(args)


if __name__ == "__main__":
    main()
