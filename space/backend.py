"""Prediction backends for the Space: one interface, ONNX Runtime (no torch) or PyTorch.

The app only calls :func:`load_backend`, :meth:`Backend.predict` and the backend's ``tokenizer``
(:class:`encoder.Encoder`). Both backends tokenize with the same encoder and turn logits into
probabilities with the same function (:func:`probabilities`) — every class of the model with its
probability, highest first: a softmax summing to 1, or, for a multi-label model (config.json's ``problem_type``),
each label's own sigmoid, with the label's threshold (``label_thresholds``) in ``Backend.thresholds``. The ONNX
backend imports onnxruntime, tokenizers and numpy only: a Space serving an exported model installs neither
torch nor transformers (requirements.txt); torch and transformers are imported only when the PyTorch backend is
loaded (requirements-torch.txt).
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from encoder import INPUT_NAMES, Encoder

from formats.command_line import first_line
from formats.model_config import label_thresholds
from formats.output_folder import (
    AUTO,
    BACKEND_ALIASES,
    BACKENDS,
    CONFIG_FILE,
    METRICS_FILE,
    ONNX_DIR,
    ONNX_FILES,
    ONNX_INT8,
    ONNX_PREFERENCE,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILE,
    TORCH,
    TRAIN_CONFIG_FILE,
    onnx_path,
)

# The Space's own BACKEND value beside BACKEND_CHOICES: the earlier "onnx", the best ONNX file the folder has
# (ONNX_PREFERENCE).
ANY_ONNX = "onnx"
BATCH_SIZE = 32  # texts per forward pass
UNLIMITED = 10**12  # a tokenizer without model_max_length (transformers writes 1e30): no limit of its own


def probabilities(labels: list[str], logits: np.ndarray, multi_label: bool = False) -> list[dict[str, float]]:
    """The Space's one probability function: each row of ``logits`` as ``{label: probability}`` for every
    class, highest first — the softmax in float64 (shifted by the row's max, so large logits cannot overflow),
    or with ``multi_label`` each logit's own sigmoid (the labels are separate yes/no questions: they do not sum
    to 1).

    Both backends call it, so they cannot differ in how scores are made.
    """
    if multi_label:
        # 1 / (1 + e^-x) overflows e^-x for very negative x; this form never does (tanh is bounded).
        rows = 0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float64)))
    else:
        shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        rows = exp / exp.sum(axis=-1, keepdims=True)
    return [
        dict(sorted(zip(labels, map(float, row), strict=True), key=lambda item: item[1], reverse=True)) for row in rows
    ]


@dataclass
class Backend:
    """What the app needs from a loaded model; each backend fills these in its ``__post_init__``."""

    name: str = field(init=False)  # shown on the page, e.g. "PyTorch fp32 (cpu)" or "ONNX Runtime int8 (cpu)"
    labels: list[str] = field(init=False)  # class names in id order, from the model's id2label
    max_length: int = field(init=False)  # longest input in tokens; longer texts are truncated
    tokenizer: Encoder = field(init=False)  # the texts' tokens (the tokens panel) and the model's inputs
    # None for a single-label model; a multi-label model's {label: threshold}, every label (label_thresholds).
    thresholds: dict[str, float] | None = field(init=False, default=None)

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        """Return, for each text, ``{label: probability}`` for every class, highest first."""
        results = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = self.tokenizer.encode(texts[start : start + BATCH_SIZE])
            results += probabilities(self.labels, self.logits(batch), multi_label=self.thresholds is not None)
        return results

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """The model's logits (texts x classes) for a batch of :meth:`Encoder.encode`."""
        raise NotImplementedError


@dataclass
class TorchBackend(Backend):
    """The model's PyTorch weights through transformers (a model without ``onnx/``, or ``BACKEND=torch``)."""

    model: str
    revision: str | None = None

    def __post_init__(self) -> None:
        import inspect

        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        device, dtype = pick_device()
        tokenizer = AutoTokenizer.from_pretrained(self.model, revision=self.revision)
        network = AutoModelForSequenceClassification.from_pretrained(self.model, revision=self.revision, dtype=dtype)
        self._device = "cuda" if device == 0 else "cpu"
        self._network = network.to(self._device).eval()
        config = network.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.thresholds = thresholds_of(config, self.model)
        self.max_length = max_length(tokenizer.model_max_length, getattr(config, "max_position_embeddings", None))
        if getattr(tokenizer, "backend_tokenizer", None) is None:
            raise ValueError(f"{self.model}: the tokenizer has no {TOKENIZER_FILE} (a `tokenizers` tokenizer)")
        self.tokenizer = Encoder(tokenizer.backend_tokenizer, self.max_length, tokenizer.pad_token_id or 0)
        accepted = inspect.signature(network.forward).parameters
        self._inputs = [name for name in INPUT_NAMES if name in accepted]
        precision = "bf16" if dtype == torch.bfloat16 else "fp32"
        self.name = f"PyTorch {precision} ({self._device})"

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            inputs = {name: torch.from_numpy(batch[name]).to(self._device) for name in self._inputs}
            return self._network(**inputs).logits.float().cpu().numpy()


@dataclass
class OnnxBackend(Backend):
    """An ONNX Runtime CPU session over an exported model; tokenizer and labels from its folder (no torch)."""

    path: Path  # the .onnx file; its folder is self-contained (the model's config and tokenizer files)

    def __post_init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = self.path.parent
        config = read_json(folder / CONFIG_FILE)
        tokenizer_config = read_json(folder / TOKENIZER_CONFIG_FILE, missing={})
        id2label = config["id2label"]
        self.labels = [id2label[str(i)] for i in range(len(id2label))]
        self.thresholds = thresholds_of(config, str(folder))
        self.max_length = max_length(tokenizer_config.get("model_max_length"), config.get("max_position_embeddings"))
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer = Encoder(tokenizer, self.max_length, pad_id(tokenizer, tokenizer_config))
        options = ort.SessionOptions()
        options.intra_op_num_threads = _cpu_budget()
        # No busy-waiting between requests: on a Space's few shared vCPUs spinning threads only steal
        # time from tokenization and the web server; a loaded small CPU box ran faster without it (see
        # docs/benchmarks.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory pattern per input shape: tweets come in every length, so the patterns only pile up in memory,
        # without a gain in speed (docs/space_soak.md).
        options.enable_mem_pattern = False
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._inputs = [node.name for node in self._session.get_inputs()]
        precision = "int8" if self.path.name == ONNX_FILES[ONNX_INT8] else "fp32"
        self.name = f"ONNX Runtime {precision} (cpu)"

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, {name: batch[name] for name in self._inputs})[0]


def read_json(path: Path, missing: Any = None) -> Any:
    """The JSON content of ``path``; ``missing`` when there is no such file (None: the file is required)."""
    if missing is not None and not path.is_file():
        return missing
    return json.loads(path.read_text(encoding="utf-8"))


def thresholds_of(config: Any, model: str) -> dict[str, float] | None:
    """A multi-label model's threshold for each label (0.5 for a label config.json does not list), or None for a
    single-label model: ``formats.model_config.label_thresholds``, the rule ``training.predict`` applies too.

    Raises:
        ModelLoadError: a threshold that is not a number from 0 to 1 (null, text, 1.5).
    """
    try:
        return label_thresholds(config)
    except ValueError as error:
        raise ModelLoadError(f"MODEL={model}: {CONFIG_FILE}: {error}") from None


def max_length(model_max_length: int | float | None, position_limit: int | None) -> int:
    """The usable input length: the tokenizer's limit, capped by the model's position embeddings (512 when
    the config does not say)."""
    limit = position_limit or 512
    return int(min(limit, model_max_length or UNLIMITED))


def pad_id(tokenizer: Any, tokenizer_config: dict) -> int:
    """The id of the tokenizer's padding token: its own padding setting, else tokenizer_config's pad_token, else 0."""
    if tokenizer.padding:
        return int(tokenizer.padding["pad_id"])
    token = tokenizer_config.get("pad_token")
    token = token.get("content") if isinstance(token, dict) else token
    return (tokenizer.token_to_id(token) if token else None) or 0


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


def load_backend(model: str, revision: str | None = None) -> Backend:
    """Load ``model`` (a local folder written by ``training`` or a Hub model id) for prediction.

    ``BACKEND`` (:func:`requested_backend`) chooses: ``torch``, ``onnx-int8``, ``onnx-fp32``, or ``auto``
    (unset): on CPU the exported ONNX model when the folder (or repo) has one — int8 first, else fp32;
    ``training.export`` deletes an int8 model that failed its accuracy check — and PyTorch
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
    choice = requested_backend(os.environ.get("BACKEND") or AUTO)  # empty: unset
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
    return _load_torch(model, revision)


def model_reports(model: str, revision: str | None = None) -> dict[str, dict]:
    """The reports published with the model that the page's header reads: ``metrics`` and ``train_config``
    (the files of the output folder, or of the Hub model repo), each ``{}`` when the model has none or it
    cannot be read — a model without them still loads, with a shorter header."""
    reports = {}
    for key, name in (("metrics", METRICS_FILE), ("train_config", TRAIN_CONFIG_FILE)):
        try:
            path = Path(model) / name if Path(model).is_dir() else _hub_file(model, name, revision)
            content = read_json(path, missing={}) if path is not None else {}
        except (OSError, ValueError):  # unreadable, or not JSON: the header does without it
            content = {}
        reports[key] = content if isinstance(content, dict) else {}
    return reports


def _hub_file(model: str, name: str, revision: str | None) -> Path | None:
    """``name`` of the Hub model repo ``model`` (downloaded), or None when it has none or the Hub is out of reach."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(model, name, revision=revision))
    except Exception:  # no such file or repo, offline, a bad id: the header does without it
        return None


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


def _load_torch(model: str, revision: str | None) -> TorchBackend:
    """The PyTorch backend over ``model``; a model that cannot be loaded is one line saying where we looked."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise ModelLoadError(
            f"cannot load the model {model!r} with PyTorch (no {ONNX_DIR}/ model found, or BACKEND=torch): torch and "
            "transformers are not installed — install space/requirements-torch.txt, or serve a model exported "
            "with `python -m training.export`"
        )
    try:
        return TorchBackend(model, revision=revision)
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


def _has_cuda() -> bool:
    """Whether PyTorch can run on a GPU here. torch is imported only where it could say yes (it is installed, and
    the machine has an NVIDIA driver), so that choosing the ONNX backend on a CPU never imports it."""
    if importlib.util.find_spec("torch") is None or not Path("/proc/driver/nvidia").exists():
        return False
    import torch

    return torch.cuda.is_available()


def pick_device():
    """The PyTorch backend's device (0 = first GPU, -1 = CPU) and dtype.

    bf16 only on a GPU that has it natively: ``torch.cuda.is_bf16_supported()`` also says yes on T4 /
    V100 through emulation, which is slower there than fp32.
    """
    import torch

    if not _has_cuda():
        return -1, torch.float32
    native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    return 0, torch.bfloat16 if native_bf16 else torch.float32
