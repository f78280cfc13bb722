"""Benchmark training on the real emotion data (not a test: it takes minutes to an hour).

    python bench/train.py                                   # the pipeline: --model offline, full train, 2 epochs
    python bench/train.py --max-train-samples 2000 --epochs 1   # a quick estimate first
    python bench/train.py --speed                           # GPU: seed recipe vs ours, samples/s, same run

Default mode runs ``python -m training`` end to end on ``../shared/data/emotion`` and prints test
accuracy, macro F1 and train samples/s (targets: >= 90% test accuracy on CPU, >= 92.5% on a GPU).

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

from harness import DATA, REPO, machine, pct, print_table, ratio, training_args


def run_pipeline(args) -> None:
    """The real pipeline, as a user runs it, then the headline figures from metrics.json."""
    from training.__main__ import main

    # This script's options pass through unchanged, under the same names.
    passed = ("data", "model", "output_dir", "epochs", "max_train_samples", "max_eval_samples")
    argv = training_args(**{name: getattr(args, name) for name in passed})
    start = time.perf_counter()
    if main(argv) != 0:
        sys.exit(2)
    wall = time.perf_counter() - start
    metrics = json.loads((args.output_dir / "metrics.json").read_text())
    test, training = metrics["eval"]["test"], metrics["training"]
    print(
        f"\nbench/train.py  model={args.model}  data={args.data}  train={metrics['data']['sizes']['train']}  "
        f"epochs={args.epochs}  device={training['device']} ({training['precision']}); {machine()}\n"
    )
    print_table(
        ["test accuracy", "test macro F1", "train samples/s", "training s (with validation)", "whole run s"],
        [
            (
                pct(test["accuracy"]),
                pct(test["f1_macro"]),
                f"{training['samples_per_second']:.1f}",
                f"{training['seconds']:.0f}",
                f"{wall:.0f}",
            )
        ],
        align="rrrrr",
    )


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

    from training.config import ALIASES, parse_config
    from training.data import load_data, subsample
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
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max-train-samples", type=int, default=None, help="subset for a quick estimate")
    parser.add_argument("--max-eval-samples", type=int, default=None, help="validation/test subset (quick runs)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "bench-train")
    parser.add_argument("--speed", action="store_true", help="GPU: seed recipe vs ours, samples/s and ratio")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"bench error: {args.data}: no such folder (the real emotion data: train/validation/test.txt)")
    run_speed(args) if args.speed else run_pipeline(args)


if __name__ == "__main__":
    main()
