"""CPU inference benchmark: PyTorch fp32 eager vs ONNX Runtime fp32 vs ONNX Runtime int8, side by side.

On a trained output folder that has been exported (``python -m training.export DIR``), on the test
split of the emotion data, in one run on one machine:

- batch 1: p50 / p95 latency of one text end to end (tokenize + forward), the Space's case;
- accuracy of each variant on the whole test split, and the drop against PyTorch in points;
- batch 32: throughput in texts/s over the test split (in file order, dynamic padding);
- file sizes.

    .venv/bin/python bench/inference.py runs/emotion
    .venv/bin/python bench/inference.py runs/emotion --data ../shared/data/emotion --samples 500

Targets (issue 5): int8 >= 2.5x faster than eager at p50, accuracy drop <= 0.5 points, DistilBERT
int8 file <= 70 MB. All variants use the same number of CPU threads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from harness import DATA, machine, pct, print_table, ratio

from formats.output_folder import ONNX_FP32, ONNX_INT8, TORCH, WEIGHTS_FILE, onnx_path
from training.export import load_split, predict
from training.export.latency import THREADS, latencies_ms
from training.runtime import load_model, onnx_session, torch_runner

THROUGHPUT_BATCH = 32


def throughputs(runners: dict, tokenizer, texts: list[str], max_length: int) -> dict[str, float]:
    """Texts/s of each variant in batches of THROUGHPUT_BATCH (file order), taking turns batch by batch."""
    seconds = dict.fromkeys(runners, 0.0)
    for start in range(0, len(texts), THROUGHPUT_BATCH):
        batch = texts[start : start + THROUGHPUT_BATCH]
        for name, run in runners.items():
            begin = time.perf_counter()
            run(dict(tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="np")))
            seconds[name] += time.perf_counter() - begin
    return {name: len(texts) / s for name, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "output_dir", type=Path, help="A training output folder with onnx/ (python -m training.export)."
    )
    parser.add_argument("--data", default=str(DATA), help="Data whose test split is used.")
    parser.add_argument("--samples", type=int, default=1000, help="Texts timed one by one per variant.")
    parser.add_argument(
        "--threads",
        type=int,
        default=THREADS,
        help="CPU threads of every variant (default: "
        "1, as training.export measures; more threads make PyTorch's figures erratic when "
        "other processes load the machine).",
    )
    args = parser.parse_args()

    import torch

    files = {
        TORCH: args.output_dir / WEIGHTS_FILE,
        ONNX_FP32: args.output_dir / onnx_path(ONNX_FP32),
        ONNX_INT8: args.output_dir / onnx_path(ONNX_INT8),
    }
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        sys.exit(
            f"missing {', '.join(missing)} — run `python -m training.export {args.output_dir}` first "
            "(an int8 model refused by its accuracy check is deleted)"
        )

    model, tokenizer, max_length = load_model(args.output_dir)
    texts, gold = load_split(args.output_dir, args.data, model.config.label2id, split="test")
    threads = args.threads
    torch.set_num_threads(threads)
    runners = {
        TORCH: torch_runner(model),
        ONNX_FP32: onnx_session(files[ONNX_FP32], threads),
        ONNX_INT8: onnx_session(files[ONNX_INT8], threads),
    }
    print(
        f"model {args.output_dir} ({model.config.model_type}, {model.num_parameters() / 1e6:.1f}M parameters); "
        f"test split of {args.data}: {len(texts)} texts"
    )
    print(
        f"machine: {machine()} (other processes slow every variant); {threads} threads per variant; "
        f"torch {torch.__version__}, onnxruntime {__import__('onnxruntime').__version__}\n"
    )

    times = latencies_ms(runners, tokenizer, texts[: args.samples], max_length)
    rates = throughputs(runners, tokenizer, texts, max_length)
    rows = {
        name: {
            "p50": statistics.median(times[name]),
            "p95": float(np.percentile(times[name], 95)),
            "accuracy": float((predict(run, tokenizer, texts, max_length) == gold).mean()),
            "throughput": rates[name],
            "size": files[name].stat().st_size / 1e6,
        }
        for name, run in runners.items()
    }

    base = rows[TORCH]
    print_table(
        [
            "variant",
            "p50 ms (batch 1)",
            "p95 ms",
            "speed-up at p50",
            "accuracy",
            "drop (points)",
            f"texts/s (batch {THROUGHPUT_BATCH})",
            "throughput ratio",
            "size MB",
        ],
        [
            (
                name,
                f"{row['p50']:.2f}",
                f"{row['p95']:.2f}",
                ratio(base["p50"] / row["p50"]),
                pct(row["accuracy"]),
                f"{100 * (base['accuracy'] - row['accuracy']):+.2f}",
                f"{row['throughput']:.0f}",
                ratio(row["throughput"] / base["throughput"]),
                f"{row['size']:.1f}",
            )
            for name, row in rows.items()
        ],
    )

    int8 = rows[ONNX_INT8]
    speedup, drop = base["p50"] / int8["p50"], 100 * (base["accuracy"] - int8["accuracy"])
    print(
        f"\nint8 vs eager at p50: {ratio(speedup)} (target >= 2.5x: {'met' if speedup >= 2.5 else 'NOT met'}); "
        f"accuracy drop {drop:+.2f} points (target <= 0.5: {'met' if drop <= 0.5 else 'NOT met'}); "
        f"int8 file {int8['size']:.1f} MB = {int8['size'] / base['size']:.0%} of fp32 "
        f"(DistilBERT target <= 70 MB); at the end: {machine()}"
    )


if __name__ == "__main__":
    main()
