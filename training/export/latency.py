"""Time a model's forward passes one text at a time, the Space's case, fairly on a machine others load.

Used by ``training.export`` (the p50 figures of ``metrics.json["export"]``) and by ``bench/inference.py``.
The settings here decide how comparable those figures are, so both use the same ones.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import numpy as np

LATENCY_SAMPLES = 100  # batch-1 calls timed per variant (after a few warm-up calls)
TURN = 25  # texts each variant times before the next one's turn
# One CPU thread per variant while measuring: figures comparable across machines, and other processes
# cannot wreck them (PyTorch with 2 threads on 2 busy CPUs was an order of magnitude slower: docs/benchmarks.md).
THREADS = 1

# A forward pass: tokenizer output as numpy int64 arrays -> logits (batch, num_labels).
RunBatch = Callable[[dict[str, np.ndarray]], np.ndarray]


def latencies_ms(runners: dict[str, RunBatch], tokenizer, texts: list[str], max_length: int) -> dict[str, list[float]]:
    """Wall time in ms of each text end to end (tokenize + forward) at batch size 1, per runner.

    The runners take turns every TURN texts, so that load from other processes on the machine slows
    them alike; a turn starts with an untimed call, as a runner's first call after another's pays
    for waking its threads (and the other's may still be spinning).

    Args:
        runners: name -> forward pass (see ``RunBatch``).
        tokenizer: the model's tokenizer.
        texts: the texts to time, each once per runner.
        max_length: longest input the model accepts (longer texts are truncated).

    Returns:
        name -> one latency in ms per text, in the order of ``texts``.
    """

    def encode(text: str) -> dict[str, np.ndarray]:
        return dict(tokenizer([text], truncation=True, max_length=max_length, return_tensors="np"))

    for run in runners.values():  # warm-up: first calls allocate buffers and pick kernels
        for text in texts[:5]:
            run(encode(text))
    times: dict[str, list[float]] = {name: [] for name in runners}
    for turn in range(0, len(texts), TURN):
        for name, run in runners.items():
            run(encode(texts[turn]))
            for text in texts[turn : turn + TURN]:
                start = time.perf_counter()
                run(encode(text))
                times[name].append((time.perf_counter() - start) * 1000)
    return times


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run PyTorch with ``threads`` intra-op threads inside the block, and restore the caller's count after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
