"""Prediction backends for the Space: one interface, PyTorch (transformers pipeline) or ONNX Runtime.

The app only calls :func:`load_backend` and :meth:`Backend.predict`; both backends return the same
format — every class of the model with its probability, highest first, summing to 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# --- The names this module reads in a model's output folder, and the backend names ---------------------
# A copy of training/outputs.py (the Space is deployed alone and cannot import training): keep both equal,
# tests/space/test_output_names.py fails when they differ. No other file of space/ spells these names.
TORCH, ONNX_FP32, ONNX_INT8 = "torch", "onnx-fp32", "onnx-int8"
BACKENDS = (TORCH, ONNX_FP32, ONNX_INT8)
ONNX_DIR = "onnx"  # written by `python -m training.export` (and uploaded with the model by publish)
ONNX_FILES = {ONNX_FP32: "model.onnx", ONNX_INT8: "model_int8.onnx"}  # backend -> file in ONNX_DIR
BACKEND_ALIASES = {"pytorch": TORCH, "onnx_fp32": ONNX_FP32, "onnx_int8": ONNX_INT8}  # earlier spellings
# The Space's own BACKEND values beside the backends: auto (the default), and the earlier "onnx" — the best
# ONNX file the folder has. int8 first: training.export keeps it only when it passed its accuracy check.
AUTO, ANY_ONNX = "auto", "onnx"
ONNX_PREFERENCE = (ONNX_INT8, ONNX_FP32)


def onnx_path(backend: str) -> str:
    """The ONNX file of ``backend`` relative to the output folder, e.g. ``onnx/model_int8.onnx``."""
    return f"{ONNX_DIR}/{ONNX_FILES[backend]}"


@dataclass
class Backend:
    """What the app needs from a loaded model; each backend fills these in its ``__post_init__``."""

    name: str = field(init=False)  # shown on the page, e.g. "PyTorch fp32 (cpu)" or "ONNX Runtime int8 (cpu)"
    labels: list[str] = field(init=False)  # class names in id order, from the model's id2label
    max_length: int = field(init=False)  # longest input in tokens; longer texts are truncated
    tokenizer: Any = field(init=False)  # a transformers tokenizer (used for the tokens panel)

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        """Return, for each text, ``{label: probability}`` for every class, highest first."""
        raise NotImplementedError


@dataclass
class PipelineBackend(Backend):
    """A ``transformers`` text-classification pipeline returning all class scores (``top_k=None``)."""

    model: str
    revision: str | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        import torch
        from transformers import pipeline

        device, dtype = pick_device()
        self._pipe = pipeline(
            "text-classification",
            model=self.model,
            revision=self.revision,
            top_k=None,
            device=device,
            dtype=dtype,
        )
        config = self._pipe.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.tokenizer = self._pipe.tokenizer
        self.max_length = _max_length(self.tokenizer, config)
        precision = "bf16" if dtype == torch.bfloat16 else "fp32"
        self.name = f"PyTorch {precision} ({'cuda' if device == 0 else 'cpu'})"

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        outputs = self._pipe(
            list(texts),
            batch_size=self.batch_size,
            truncation=True,
            max_length=self.max_length,
        )
        return [{item["label"]: float(item["score"]) for item in scores} for scores in outputs]


@dataclass
class OnnxBackend(Backend):
    """An ONNX Runtime CPU session over an exported model; tokenizer and labels from its folder."""

    path: Path  # the .onnx file; its folder is self-contained (the model's config and tokenizer files)
    batch_size: int = 32

    def __post_init__(self) -> None:
        import onnxruntime as ort
        from transformers import AutoConfig, AutoTokenizer

        config = AutoConfig.from_pretrained(self.path.parent)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path.parent)
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.max_length = _max_length(self.tokenizer, config)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _cpu_budget()
        # No busy-waiting between requests: on a Space's few shared vCPUs spinning threads only steal
        # time from tokenization and the web server; a loaded small CPU box ran faster without it (see
        # docs/benchmarks.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._inputs = [node.name for node in self._session.get_inputs()]
        precision = "int8" if self.path.name == ONNX_FILES[ONNX_INT8] else "fp32"
        self.name = f"ONNX Runtime {precision} (cpu)"

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        results = []
        for start in range(0, len(texts), self.batch_size):
            encoded = self.tokenizer(
                list(texts[start : start + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            logits = self._session.run(None, {name: encoded[name].astype(np.int64) for name in self._inputs})[0]
            results += [_ranked(self.labels, row) for row in _softmax(logits)]
        return results


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (shifted by the max, so large logits cannot overflow)."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _ranked(labels: list[str], probabilities: np.ndarray) -> dict[str, float]:
    """``{label: probability}`` for every class, highest first (the pipeline's order)."""
    return dict(sorted(zip(labels, map(float, probabilities), strict=True), key=lambda item: item[1], reverse=True))


def _cpu_budget() -> int:
    """CPUs this process may use: a container's quota (a Space's 2 vCPUs) counts, not the host's cores."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:  # cgroup v2: "max 100000" (no limit) or "200000 100000" (2 CPUs)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return count


def _find_onnx(model: str, revision: str | None, backends: tuple[str, ...]) -> Path | None:
    """The ONNX file of the first of ``backends`` that ``model`` (a local folder or a Hub repo) has, or None."""
    folder = Path(model)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        try:  # only the onnx/ folder: a repo without one costs a listing, not a download
            folder = Path(snapshot_download(model, revision=revision, allow_patterns=[f"{ONNX_DIR}/*"]))
        except (OSError, ValueError):  # offline, no such repo, not a repo id: load_backend reports it
            return None
    return next((folder / onnx_path(name) for name in backends if (folder / onnx_path(name)).is_file()), None)


def _max_length(tokenizer: Any, config: Any) -> int:
    """The usable input length: the tokenizer's limit, capped by the model's position embeddings."""
    limit = getattr(config, "max_position_embeddings", 512) or 512
    model_max = getattr(tokenizer, "model_max_length", limit) or limit
    return int(min(limit, model_max))


def load_backend(model: str, revision: str | None = None) -> Backend:
    """Load ``model`` (a local folder written by ``training`` or a Hub model id) for prediction.

    ``BACKEND`` (:func:`requested_backend`) chooses: ``torch``, ``onnx-int8``, ``onnx-fp32``, or ``auto``
    (unset): on CPU the exported ONNX model when the folder (or repo) has one — int8 first, else fp32;
    ``training.export`` deletes an int8 model that failed its accuracy check — and the PyTorch pipeline
    otherwise, or on a GPU (where batched bf16 PyTorch is the faster of the two).

    Raises:
        ModelLoadError: no such folder or model, an unknown BACKEND, or a forced ONNX backend whose file
            the model lacks (one line naming the file and the command that writes it).
    """
    if _can_only_be_a_folder(model) and not Path(model).expanduser().is_dir():
        raise ModelLoadError(
            f"MODEL={model}: no such folder — set MODEL to a folder written by `python -m training` "
            "(e.g. MODEL=runs/demo) or a Hub model id"
        )
    choice = requested_backend(os.environ.get("BACKEND", AUTO))
    if choice != TORCH and not (choice == AUTO and _has_cuda()):
        candidates = ONNX_PREFERENCE if choice in (AUTO, ANY_ONNX) else (choice,)
        path = _find_onnx(model, revision, candidates)
        if path is not None:
            return OnnxBackend(path)
        if choice != AUTO:
            raise ModelLoadError(
                f"BACKEND={choice}: {model} has no {' or '.join(map(onnx_path, candidates))} — "
                f"run `python -m training.export {model}` first"
            )
    return _load_pipeline(model, revision)


def requested_backend(value: str) -> str:
    """``BACKEND`` in today's spelling: ``auto``, ``torch``, ``onnx-int8``, ``onnx-fp32`` — or ``onnx``, the
    earlier value meaning the best ONNX file there is. ``pytorch`` (and training's other earlier spellings)
    are read as their new names; case does not matter.

    Raises:
        ModelLoadError: any other value.
    """
    choice = value.lower()
    choice = BACKEND_ALIASES.get(choice, choice)
    if choice not in (AUTO, ANY_ONNX, *BACKENDS):
        raise ModelLoadError(
            f"BACKEND={value.lower()!r}: expected {', '.join(BACKENDS)} or unset (auto) — "
            f"the earlier {ANY_ONNX} (the best ONNX file there is) and pytorch still work"
        )
    return choice


def _load_pipeline(model: str, revision: str | None) -> PipelineBackend:
    """The PyTorch pipeline over ``model``; a model that cannot be loaded is one line saying where we looked."""
    try:
        return PipelineBackend(model, revision=revision)
    except (OSError, ValueError) as err:  # no such folder or repo, no network, not a repo id
        where = "" if Path(model).expanduser().is_dir() else "no such local folder, and from the Hub: "
        raise ModelLoadError(
            f"cannot load the model {model!r}: {where}{first_line(err)} — set MODEL to a folder written by "
            "`python -m training` (e.g. MODEL=runs/demo) or a Hub model id you can reach"
        ) from None


def _can_only_be_a_folder(model: str) -> bool:
    """Whether ``model`` cannot be a Hub id (``name`` or ``namespace/name``): absolute, ``./``, ``~``, deeper."""
    return model.startswith((".", "~")) or Path(model).is_absolute() or model.count("/") > 1


class ModelLoadError(Exception):
    """The model named by MODEL / BACKEND cannot be loaded (one line a user can act on)."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: the reason a one-line
    user error quotes from a library's multi-line message (the Space's own copy: it imports no other part)."""
    message = str(err).strip()
    return message.splitlines()[0] if message else type(err).__name__


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def pick_device():
    """The pipeline's device (0 = first GPU, -1 = CPU) and dtype.

    bf16 only on a GPU that has it natively: ``torch.cuda.is_bf16_supported()`` also says yes on T4 /
    V100 through emulation, which is slower there than fp32.
    """
    import torch

    if not _has_cuda():
        return -1, torch.float32
    native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    return 0, torch.bfloat16 if native_bf16 else torch.float32
