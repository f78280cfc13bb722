"""Batch prediction: ``python -m training.predict`` end to end against a pipeline() loop and a bare ONNX loop.

Speed (default): the same model and the same texts (the emotion tweets, repeated to ``--texts``), in
one process, one after the other:

- the command itself (``training.predict.run.predict_corpus``, what ``python -m training.predict``
  runs): loading the model, reading the input twice (validation, then the shards), tokenizing,
  the model, writing the parquet output; interpreter start-up and imports excluded;
- ``pipeline("text-classification", top_k=None)`` with its default batch size, and with ``batch_size=64``;
- a bare ONNX Runtime int8 loop: the same length-sorted batches of 64, tokenize and run, nothing else.

    .venv/bin/python bench/predict.py --model runs/bench-minilm     # a training output folder with onnx/
    .venv/bin/python bench/predict.py --multi-label --texts 3000    # multi-label against single-label

Memory (``--memory``): peak RSS of the command (a fresh process per size, its own ``VmHWM``) on 100,000
and 1,000,000 input rows (target: at most 100 MB more at 1,000,000; docs/predict_memory.md), and its
texts/s. The model is a tiny random DistilBERT exported to int8 (speed is what the real model changes,
not the memory the command's own buffers take), so that a million rows take minutes.

Multi-label (``--multi-label``): the command on a single-label and a multi-label model of the same architecture
and weights (all-MiniLM-L6-v2 with one random 6-label head, saved twice: once as is, once with
``problem_type="multi_label_classification"`` and ``label_thresholds``; each exported to int8 ONNX), on the same
``--texts`` tweets, taking turns (``--rounds`` each) so that a change of load on the machine hits both alike;
its ratio (target: the multi-label rate at least 90% of the single-label one).

GPU (``--gpu``, on CUDA): the DistilBERT architecture (``DistilBertConfig()``, random weights) saved
as a training output folder, the command on ``--texts`` rows against the naive loop of
``bench/gpu_inference.py``.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import DATA, REPO, machine, print_table, ratio, read_texts, save_classifier

from formats.model_config import MULTI_LABEL_PROBLEM
from formats.output_folder import ONNX_DIR, ONNX_FILES, ONNX_INT8
from training.predict.engine import length_buckets
from training.predict.run import PredictOptions, cpu_budget, predict_corpus
from training.runtime import max_input_length, onnx_session

INT8_FILE = ONNX_FILES[ONNX_INT8]


def corpus(count: int, seed: int = 0) -> list[str]:
    """``count`` emotion tweets: the three splits shuffled and repeated."""
    texts = [t for split in ("train", "validation", "test") for t in read_texts(DATA / f"{split}.txt")]
    random.Random(seed).shuffle(texts)
    return (texts * (count // len(texts) + 1))[:count]


def write_lines(texts: list[str], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as file:  # line by line: no second copy of the corpus in memory
        file.writelines(t.replace("\n", " ") + "\n" for t in texts)
    return path


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_command(model: str, source: Path, out: Path, **options) -> dict:
    """The command in this process (its imports are done: start-up excluded)."""
    return predict_corpus(PredictOptions(model, str(source), str(out), overwrite=True, progress=False, **options))


def bare_onnx_loop(model: Path, texts: list[str], batch_size: int, threads: int):
    """The bare loop the command must come within 10% of: sorted batches, tokenize, run; no I/O, no bookkeeping."""
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model / ONNX_DIR)
    max_length = max_input_length(tokenizer, AutoConfig.from_pretrained(model / ONNX_DIR))
    run = onnx_session(model / ONNX_DIR / INT8_FILE, threads)
    batches = length_buckets(texts, batch_size)

    def loop():
        for batch in batches:
            encoded = tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=max_length, return_tensors="np"
            )
            run(dict(encoded)).argmax(axis=-1)

    return loop


def speed(model: Path, count: int, batch_size: int, pipeline_texts: int, work: Path) -> None:
    from transformers import pipeline

    texts = corpus(count)
    source = write_lines(texts, work / "tweets.txt")
    threads = cpu_budget()
    pipeline_texts = min(pipeline_texts, count)
    print(f"{count:,} texts ({pipeline_texts:,} for the pipelines); {machine()}; {threads} threads\n")
    rates = {}
    run_command(str(model), write_lines(texts[:256], work / "warm.txt"), work / "warm.parquet")  # page cache, kernels
    start = time.perf_counter()
    summary = run_command(str(model), source, work / "out.parquet", batch_size=batch_size)
    seconds = time.perf_counter() - start - summary["load_seconds"]  # start-up (loading the model) excluded
    rates["`python -m training.predict` (int8 ONNX, end to end)"] = count / seconds
    loop = bare_onnx_loop(model, texts, batch_size, threads)
    rates[f"bare ONNX Runtime int8 loop (sorted batches of {batch_size})"] = count / timed(loop)
    classify = pipeline("text-classification", model=str(model), top_k=None, device="cpu")
    classify(texts[:32])  # warm-up
    sample = texts[:pipeline_texts]  # the pipelines are slow: their rate on the first texts of the same list
    rates["`pipeline(..., top_k=None)`, default batch size"] = len(sample) / timed(lambda: classify(sample))
    rates["`pipeline(..., top_k=None)`, `batch_size=64`"] = len(sample) / timed(lambda: classify(sample, batch_size=64))
    command, bare, default = (list(rates.values())[i] for i in (0, 1, 2))
    print(f"{machine()} at the end\n")
    print_table(
        ["way to label", "texts/s", "command / this"],
        [(name, f"{rate:,.0f}", ratio(command / rate)) for name, rate in rates.items()],
    )
    print(f"\ncommand vs default pipeline: {ratio(command / default)} (target >= 4×)")
    print(f"command vs bare int8 loop: {100 * command / bare:.1f}% (target >= 90%)")


def tiny_int8_model(work: Path) -> Path:
    """A tiny random DistilBERT over MiniLM's tokenizer, exported to ONNX int8 like a trained folder."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.export import write_onnx_folder

    folder = Path(save_classifier(work / "tiny", tiny=True))
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    write_onnx_folder(model, AutoTokenizer.from_pretrained(folder), folder / ONNX_DIR)
    return folder


def peak_rss_mb(arguments: list[str]) -> tuple[float, float]:
    """Peak resident memory, in MB, of ``python -m training.predict ARGUMENTS`` in a fresh process, and its texts/s.

    The child reports its own high-water mark, ``VmHWM`` of ``/proc/self/status``, when the command returns.
    Not ``ru_maxrss``: on Linux a child's ``ru_maxrss`` starts at its parent's peak (``execve`` records the
    high-water mark of the memory it replaces), so it measured this benchmark (the model export, the
    corpus) as much as the command (docs/predict_memory.md). ``ru_maxrss`` only where there is no /proc.
    """
    child = (
        "import resource, runpy, sys\n"
        f"sys.argv = ['training.predict', *{arguments!r}]\n"
        "try:\n    runpy.run_module('training.predict', run_name='__main__')\n"
        "except SystemExit as end:\n    assert not end.code, end.code\n"
        "try:\n    status = open('/proc/self/status').read()\n"
        "    peak = int(status.split('VmHWM:')[1].split()[0])\n"
        "except OSError:\n    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print('peak_kib', peak)\n"
    )
    result = subprocess.run([sys.executable, "-c", child], check=True, cwd=REPO, capture_output=True, text=True)
    rate = re.search(r"([\d,]+) texts/s\)", result.stdout)
    return int(result.stdout.rsplit("peak_kib", 1)[1]) / 1024, float(rate[1].replace(",", "")) if rate else 0.0


def memory(sizes: list[int], work: Path) -> None:
    model = tiny_int8_model(work)
    print(f"tiny random DistilBERT, int8 ONNX; {machine()}\n")
    rows = []
    for size in sorted(sizes):
        source = write_lines(corpus(size), work / f"rows-{size}.txt")
        started = time.perf_counter()
        arguments = [str(model), str(source), "--output", str(work / f"out-{size}.parquet"), "--no-progress"]
        peak, rate = peak_rss_mb(arguments)
        rows.append((f"{size:,}", f"{peak:,.0f}", f"{time.perf_counter() - started:,.0f}", f"{rate:,.0f}"))
        source.unlink()
    print_table(["input rows", "peak RSS MB", "seconds", "texts/s"], rows)
    growth = float(rows[-1][1].replace(",", "")) - float(rows[0][1].replace(",", ""))
    print(f"\ngrowth {rows[0][0]} -> {rows[-1][0]} rows: {growth:,.0f} MB (target <= 100 MB)")


def same_size_pair(work: Path) -> dict[str, Path]:
    """A single-label and a multi-label classifier with the same weights, each exported to int8 ONNX."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from training.export import write_onnx_folder

    single = Path(save_classifier(work / "single-label", tiny=False))
    multi = Path(shutil.copytree(single, work / "multi-label"))
    config = AutoConfig.from_pretrained(multi)
    config.problem_type = MULTI_LABEL_PROBLEM
    config.label_thresholds = {config.id2label[i]: 0.5 for i in range(config.num_labels)}
    config.save_pretrained(multi)
    folders = {"single-label (softmax)": single, "multi-label (sigmoid, thresholds)": multi}
    for folder in folders.values():
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
        write_onnx_folder(model, AutoTokenizer.from_pretrained(folder), folder / ONNX_DIR)
    return folders


def multi_label(count: int, batch_size: int, rounds: int, work: Path) -> None:
    """The command's texts/s on a multi-label model against a single-label one of the same size, side by side."""
    folders = same_size_pair(work)
    source = write_lines(corpus(count), work / "tweets.txt")
    warm = write_lines(corpus(256), work / "warm.txt")
    print(f"{count:,} texts; all-MiniLM-L6-v2, 6 labels, int8 ONNX; {machine()}; {cpu_budget()} threads\n")
    rates: dict[str, list[float]] = {name: [] for name in folders}
    for folder in folders.values():
        run_command(str(folder), warm, work / "warm.parquet")  # page cache, kernels, the sigmoid's import
    for _ in range(rounds):
        for name, folder in folders.items():  # taking turns: a change of load hits both
            start = time.perf_counter()
            summary = run_command(str(folder), source, work / "out.parquet", batch_size=batch_size)
            rates[name].append(count / (time.perf_counter() - start - summary["load_seconds"]))
    print(f"{machine()} at the end\n")
    rows = [(name, ", ".join(f"{r:,.0f}" for r in found), f"{max(found):,.0f}") for name, found in rates.items()]
    print_table(["`python -m training.predict` on", "texts/s, each round", "best"], rows)
    single, multi = rates.values()
    paired = sorted(m / s for s, m in zip(single, multi, strict=True))  # each round's turn of both
    print(
        f"\nmulti-label vs single-label: best {100 * max(multi) / max(single):.1f}%, each round "
        f"{', '.join(f'{100 * r:.1f}%' for r in paired)} (median {100 * paired[len(paired) // 2]:.1f}%; target >= 90%)"
    )
    single_ms, multi_ms = own_steps(count)
    print(
        f"the steps that differ (activation, output table; no model), {count:,} texts: single-label "
        f"{single_ms:.1f} ms, multi-label {multi_ms:.1f} ms"
    )


def own_steps(count: int, labels: int = 6, repeats: int = 20) -> tuple[float, float]:
    """Milliseconds of what differs between the two runs, without the model (so without the machine's load on it):
    the activation of every batch's logits and one shard's output table, single-label then multi-label."""
    import numpy as np

    from training.predict.parts import output_schema, shard_table
    from training.runtime import sigmoid, softmax

    names = [f"label_{i}" for i in range(labels)]
    logits = np.random.default_rng(0).normal(size=(count, labels)).astype(np.float32)
    texts, ids = ["a text"] * count, list(range(count))

    def single() -> None:
        probs = np.concatenate([softmax(logits[i : i + 64], np.float32) for i in range(0, count, 64)])
        shard_table(output_schema(names, False, False), names, ids, texts, probs)

    def multi() -> None:
        probs = np.concatenate([sigmoid(logits[i : i + 64]).astype(np.float32) for i in range(0, count, 64)])
        shard_table(output_schema(names, False, False, multi_label=True), names, ids, texts, probs, (0.5,) * labels)

    return tuple(min(timed(step) for _ in range(repeats)) * 1000 for step in (single, multi))


def gpu(count: int, work: Path) -> None:
    """The command on CUDA against bench/gpu_inference.py's naive loop, same model and texts."""
    import torch
    from gpu_inference import build_model, load_tokenizer, naive

    device = torch.device("cuda")
    tokenizer = load_tokenizer()
    build_model(torch.device("cpu"), torch.float32, len(tokenizer)).save_pretrained(work / "distilbert")
    tokenizer.save_pretrained(work / "distilbert")
    texts = corpus(count)
    source = write_lines(texts, work / "tweets.txt")
    run_command(str(work / "distilbert"), write_lines(texts[:4096], work / "warm.txt"), work / "warm.parquet")
    start = time.perf_counter()
    summary = run_command(str(work / "distilbert"), source, work / "out.parquet")
    command = count / (time.perf_counter() - start - summary["load_seconds"])
    model = build_model(device, torch.bfloat16, len(tokenizer))
    with torch.inference_mode():
        naive(model, tokenizer, texts[:4096], 1024, device)
        naive_rate = count / timed(lambda: naive(model, tokenizer, texts, 1024, device))
    print(f"{torch.cuda.get_device_name(device)}; {count:,} texts; DistilBertConfig(), random weights, bf16\n")
    rows = [("`python -m training.predict`", command), ("naive loop (bench/gpu_inference.py)", naive_rate)]
    print_table(["way to label", "texts/s", "vs naive"], [(n, f"{r:,.0f}", ratio(r / naive_rate)) for n, r in rows])
    print(f"\ntargets: >= 20,000 texts/s ({'met' if command >= 20_000 else 'NOT met'}), >= 2.5× the naive loop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "runs" / "bench-minilm", help="Output folder with onnx/.")
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--pipeline-texts", type=int, default=20_000, help="Texts for the (slow) pipelines.")
    parser.add_argument("--memory", action="store_true", help="Peak RSS at --sizes rows instead of speed.")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--gpu", action="store_true", help="The GPU comparison (needs CUDA).")
    parser.add_argument(
        "--multi-label", action="store_true", help="A multi-label model against a single-label one of the same size."
    )
    parser.add_argument("--rounds", type=int, default=2, help="With --multi-label: runs of each model, taking turns.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.memory:
            memory([int(s) for s in args.sizes.split(",")], Path(tmp))
        elif args.multi_label:
            multi_label(args.texts, args.batch_size, args.rounds, Path(tmp))
        elif args.gpu:
            gpu(args.texts if args.texts != 20_000 else 200_000, Path(tmp))
        else:
            if not (args.model / ONNX_DIR / INT8_FILE).is_file():
                sys.exit(
                    f"{args.model} has no {ONNX_DIR}/{INT8_FILE}: train and export one (see README, Label a corpus)"
                )
            speed(args.model, args.texts, args.batch_size, args.pipeline_texts, Path(tmp))


if __name__ == "__main__":
    main()
