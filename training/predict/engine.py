"""Texts -> class probabilities, fast: length-bucketed batches tokenized ahead of the model.

The same loop serves every backend and both kinds of model; only the forward pass differs, and its
activation: a softmax over the classes (single-label) or each label's sigmoid (multi-label).

- worker threads tokenize batches ahead of the model with the fast (Rust) tokenizer, which releases
  the GIL, one tokenizer copy per thread (a shared one fails with "Already borrowed");
- batches are length-bucketed: texts sorted by length, so padding (wasted compute) is minimal, and
  the results are scattered back to the input order at the end;
- on CUDA the token tensors go to pinned memory in the worker and are copied with
  ``non_blocking=True``, and the probabilities stay on the GPU until the whole chunk is done: the
  main thread never waits for the GPU between batches (no per-batch synchronisation).
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from training.runtime import sigmoid, softmax

SOFTMAX, SIGMOID = "softmax", "sigmoid"  # Engine.activation: single-label, multi-label
PREFETCH = 16  # batches tokenized ahead of the model (enough to keep 8 worker threads busy)

_thread = threading.local()  # each pool thread's own tokenizer copy, made on its first batch


def length_buckets(texts: list[str], batch_size: int) -> list[np.ndarray]:
    """Index batches of texts of similar length (characters predict tokens well enough to sort by)."""
    order = np.argsort(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def ahead(pool: ThreadPoolExecutor, fn: Callable, items: Iterable, depth: int) -> Iterator:
    """``map(fn, items)`` on the pool, in order, keeping at most ``depth`` results in flight."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= depth:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def make_encoder(tokenizer, texts: list[str], max_length: int, tensors: str, pin: bool = False) -> Callable:
    """A thread-safe ``indices -> (indices, inputs, truncated)`` over ``texts``.

    Args:
        tokenizer: a fast tokenizer; each pool thread tokenizes with its own copy of it.
        texts: the texts the indices point into.
        max_length: longer texts are truncated to this many tokens (and counted).
        tensors: ``"np"`` or ``"pt"``.
        pin: put the (``"pt"``) tensors in pinned memory, for non-blocking copies to a GPU.
    """

    def encode(indices: np.ndarray):
        if getattr(_thread, "source", None) is not tokenizer:
            _thread.source, _thread.tokenizer = tokenizer, copy.deepcopy(tokenizer)
        encoded = _thread.tokenizer(
            [texts[i] for i in indices], padding=True, truncation=True, max_length=max_length, return_tensors=tensors
        )
        # The Rust tokenizer keeps what truncation cut off: a text was truncated iff that is non-empty.
        truncated = sum(1 for encoding in encoded.encodings if encoding.overflowing)
        inputs = {name: value.pin_memory() if pin else value for name, value in encoded.items()}
        return indices, inputs, truncated

    return encode


@dataclass
class Engine:
    """A model ready to label texts: tokenizer, forward pass and the pool that tokenizes ahead.

    Subclasses give ``forward`` (tokenizer output -> a batch's probabilities, possibly still on a
    device) and ``gather`` (the batches' outputs -> one ``(n, classes)`` float32 array in input order).
    """

    backend: str  # "onnx-int8", "onnx-fp32" or "torch"
    name: str  # what runs, for the summary: "onnx-int8 (onnxruntime, 2 threads)"
    tokenizer: object
    labels: list[str]  # class names in id order
    max_length: int
    batch_size: int
    workers: int = 1
    tensors: str = "np"
    pin: bool = False
    weights: tuple = ()  # the weight files it runs (Paths): what a resumed run must find unchanged
    activation: str = SOFTMAX  # logits -> probabilities: SOFTMAX (one class) or SIGMOID (a set of labels)
    thresholds: tuple[float, ...] | None = None  # multi-label: each label's decision threshold, in label order
    pool: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # One pool for the whole run: its threads keep their tokenizer copies from chunk to chunk.
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tokenize")

    @property
    def multi_label(self) -> bool:
        """Whether the model predicts a set of labels (sigmoids and thresholds) rather than one class."""
        return self.activation == SIGMOID

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """Class probabilities of ``texts`` (float32, input order) and how many were truncated."""
        if not texts:
            return np.empty((0, len(self.labels)), dtype=np.float32), 0
        encode = make_encoder(self.tokenizer, texts, self.max_length, self.tensors, self.pin)
        indices, outputs, truncated = [], [], 0
        for batch, inputs, cut in ahead(self.pool, encode, length_buckets(texts, self.batch_size), PREFETCH):
            indices.append(batch)
            outputs.append(self.forward(inputs))
            truncated += cut
        return self.gather(np.concatenate(indices), outputs, len(texts)), truncated

    def forward(self, inputs: dict):
        raise NotImplementedError

    def gather(self, order: np.ndarray, outputs: list, count: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self.pool.shutdown()


@dataclass
class OnnxEngine(Engine):
    """ONNX Runtime on the CPU: ``run`` is :func:`training.runtime.onnx_session`'s forward pass."""

    run: Callable = None

    def forward(self, inputs: dict) -> np.ndarray:
        if self.activation == SIGMOID:
            return sigmoid(self.run(inputs)).astype(np.float32)
        return softmax(self.run(inputs), np.float32)

    def gather(self, order: np.ndarray, outputs: list, count: int) -> np.ndarray:
        result = np.empty((count, len(self.labels)), dtype=np.float32)
        result[order] = np.concatenate(outputs)
        return result


@dataclass
class TorchEngine(Engine):
    """PyTorch eager (bf16 on CUDA, fp32 on CPU); outputs stay on the device until :meth:`gather`."""

    model: object = None
    device: object = None
    accepted: tuple[str, ...] = ()  # the tokenizer outputs the model takes (DistilBERT: no token_type_ids)

    def forward(self, inputs: dict):
        import torch

        with torch.inference_mode():
            moved = {name: inputs[name].to(self.device, non_blocking=True) for name in self.accepted}
            logits = self.model(**moved).logits.float()
            # No .cpu(): no sync with the GPU here.
            return logits.sigmoid() if self.activation == SIGMOID else logits.softmax(-1)

    def gather(self, order: np.ndarray, outputs: list, count: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            ordered = torch.empty((count, len(self.labels)), device=self.device)
            ordered[torch.from_numpy(order).to(self.device)] = torch.cat(outputs)
            return ordered.cpu().numpy()  # the one synchronisation per chunk
