"""MODEL (a training output folder or a Hub model id) -> an :class:`~training.predict.engine.Engine`.

``--backend auto`` picks PyTorch bf16 on CUDA; on the CPU the exported int8 ONNX model when the
folder has ``onnx/model_int8.onnx`` (``training.export`` deletes an int8 model that failed its
accuracy check), else the fp32 ONNX model, else PyTorch fp32 (and says how to export).

A multi-label model (``"problem_type": "multi_label_classification"`` in its config) runs with each label's
sigmoid instead of a softmax, and predicts the labels whose probability reaches the label's threshold: the
config's ``label_thresholds`` (written by ``python -m training``), 0.5 for a label it does not name.
"""

from __future__ import annotations

import os
from pathlib import Path

from formats.command_line import first_line
from formats.model_config import DEFAULT_THRESHOLD, label_names, untuned_labels
from formats.output_folder import BACKEND_CHOICES, CONFIG_FILE, ONNX_DIR, ONNX_FILES, ONNX_PREFERENCE, TORCH
from training.errors import ToolkitError
from training.paths import can_only_be_local
from training.predict.engine import SIGMOID, SOFTMAX, Engine, OnnxEngine, TorchEngine
from training.runtime import decision_thresholds, load_model, max_input_length, onnx_session, read_json_object

# What a prediction needs from a Hub repo: never the plots, errors.csv or training checkpoints.
HUB_FILES = ["*.json", "*.txt", "*.model", f"{ONNX_DIR}/*"]
GPU_WORKERS = 8  # tokenizer threads feeding one GPU
ONNX_DATA_SUFFIXES = ("_data", ".data")  # an ONNX model's external weights, when it has them


def resolve_model(model: str, revision: str | None, weights: bool) -> Path:
    """The local folder of ``model``: itself, or a Hub snapshot (``weights``: with the PyTorch weights)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if can_only_be_local(model) or path.exists():
        raise ToolkitError(
            f"predict error: {model}: no such model folder — expected a folder written by python -m training"
        )
    from huggingface_hub import snapshot_download

    patterns = [*HUB_FILES, "*.safetensors"] if weights else HUB_FILES
    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=patterns))
    except Exception as err:  # offline, unknown repo, gated, bad id: the client raises many types
        raise ToolkitError(
            f"predict error: cannot load model '{model}' from the Hub ({first_line(err)}) — "
            "expected a folder written by python -m training or a Hub model id you can reach"
        ) from None


def classifier_config(folder: Path, model: str):
    """The model's config, or a one-line error when ``folder`` holds no text classifier."""
    from transformers import AutoConfig

    if not (folder / CONFIG_FILE).is_file():
        raise ToolkitError(
            f"predict error: {model}: no {CONFIG_FILE} — expected a folder written by python -m training "
            "(or a Hub model id)"
        )
    read_json_object(folder / CONFIG_FILE, f"predict error: {model}/{CONFIG_FILE}")  # not transformers' OSError
    config = AutoConfig.from_pretrained(folder)
    architectures = config.architectures or []
    if not any(name.endswith("ForSequenceClassification") for name in architectures):
        raise ToolkitError(
            f"predict error: {model}: not a text classifier (architectures: {', '.join(architectures) or 'none'}) "
            "— expected a *ForSequenceClassification model, e.g. a folder written by python -m training"
        )
    return config


def decision_rule(config, model: str) -> tuple[dict, str | None]:
    """The engine's ``activation`` and ``thresholds`` for this config, and a note when thresholds are missing.

    Raises:
        ToolkitError: ``label_thresholds`` that is not an object of numbers between 0 and 1.
    """
    thresholds = decision_thresholds(config, f"predict error: {model}/{CONFIG_FILE}")
    if thresholds is None:
        return {"activation": SOFTMAX}, None
    missing, labels = untuned_labels(config), label_names(config)
    note = None
    if missing:
        which = "every label" if len(missing) == len(labels) else ", ".join(missing)
        note = (
            f"note: {model}/{CONFIG_FILE} has no label_thresholds for {which}: predicting a label at probability "
            f">= {DEFAULT_THRESHOLD} (python -m training tunes and saves them)"
        )
    return {"activation": SIGMOID, "thresholds": tuple(thresholds.tolist())}, note


def choose_backend(requested: str, folder: Path, model: str, cuda: bool) -> tuple[str, str | None]:
    """The backend to run and, when it is a fallback the user should know about, a note saying so."""
    if requested in ONNX_FILES:
        if not (folder / ONNX_DIR / ONNX_FILES[requested]).is_file():
            raise ToolkitError(
                f"predict error: --backend {requested}: {model} has no {ONNX_DIR}/{ONNX_FILES[requested]} "
                f"— run python -m training.export {model} first"
            )
        return requested, None
    if requested == TORCH or cuda:
        return TORCH, None
    for backend in ONNX_PREFERENCE:
        if (folder / ONNX_DIR / ONNX_FILES[backend]).is_file():
            return backend, None
    return TORCH, (
        f"note: {model} has no {ONNX_DIR}/ export: running PyTorch fp32 on the CPU instead (several times "
        f"slower); python -m training.export {model} writes the int8 model"
    )


def load_engine(
    model: str,
    *,
    revision: str | None = None,
    backend: str = "auto",
    batch_size: int | None = None,
    threads: int = 1,
    device: str = "cpu",
    gold_set_options: list[str] | tuple = (),
) -> tuple[Engine, str | None]:
    """Load ``model`` on ``backend`` for labelling texts.

    Args:
        model: a folder written by ``python -m training`` or a Hub model id.
        revision: Hub revision (branch, tag or commit) when ``model`` is a Hub id.
        backend: one of :data:`formats.output_folder.BACKEND_CHOICES`.
        batch_size: texts per forward pass (default: 64 on the CPU, 1024 on CUDA).
        threads: CPU threads for the model (ONNX Runtime intra-op threads, or torch's).
        device: ``"cpu"`` or a CUDA device (``"cuda:0"``).
        gold_set_options: the options given that read multi-label gold sets (``--label-columns``,
            ``--multi-label``): refused for a single-label model, before its weights load.

    Returns:
        The engine, and a note for the user when the backend is a slower fallback or a multi-label model has
        no thresholds (else None).

    Raises:
        ToolkitError: no such model, not a text classifier, bad thresholds, multi-label gold options for a
            single-label model, or the requested backend is not available.
    """
    if backend not in BACKEND_CHOICES:
        raise ToolkitError(f"predict error: --backend {backend}: expected one of {', '.join(BACKEND_CHOICES)}")
    cuda = str(device).startswith("cuda")
    folder = resolve_model(model, revision, weights=False)
    config = classifier_config(folder, model)
    rule, threshold_note = decision_rule(config, model)
    if gold_set_options and rule["activation"] != SIGMOID:
        raise ToolkitError(
            f"predict error: {' and '.join(gold_set_options)}: {model} is a single-label model — these options read "
            "multi-label gold sets; pass --label-column for one label per text"
        )
    chosen, note = choose_backend(backend, folder, model, cuda)
    note = "\n".join(line for line in (note, threshold_note) if line) or None
    common = {"labels": label_names(config), "batch_size": batch_size or (1024 if cuda else 64), **rule}
    if chosen in ONNX_FILES:
        from transformers import AutoTokenizer

        onnx_dir = folder / ONNX_DIR  # self-contained: the export saves the tokenizer and config there too
        tokenizer = AutoTokenizer.from_pretrained(onnx_dir if (onnx_dir / CONFIG_FILE).is_file() else folder)
        weights = onnx_dir / ONNX_FILES[chosen]
        run = onnx_session(weights, threads)
        name = f"{chosen} (onnxruntime, {threads} thread{'s' * (threads > 1)})"
        length = max_input_length(tokenizer, config)
        data = [weights.with_name(weights.name + suffix) for suffix in ONNX_DATA_SUFFIXES]  # external weights
        weights = (weights, *(path for path in data if path.is_file()))
        return OnnxEngine(chosen, name, tokenizer, max_length=length, run=run, weights=weights, **common), note
    return torch_engine(resolve_model(model, revision, weights=True), device, threads, common), note


def torch_engine(folder: Path, device: str, threads: int, common: dict) -> TorchEngine:
    """PyTorch: bf16 with pinned memory and tokenizer threads on CUDA, fp32 on the CPU."""
    import inspect

    import torch

    cuda = str(device).startswith("cuda")
    model, tokenizer, max_length = load_model(folder)
    if cuda:
        model = model.to(device=device, dtype=torch.bfloat16)
        name, workers = f"torch bf16 ({torch.cuda.get_device_name(device)})", min(GPU_WORKERS, os.cpu_count() or 1)
    else:
        torch.set_num_threads(threads)
        name, workers = f"torch fp32 (cpu, {threads} thread{'s' * (threads > 1)})", 1
    accepted = tuple(arg for arg in inspect.signature(model.forward).parameters if arg in tokenizer.model_input_names)
    weights = tuple(sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin")))
    return TorchEngine(
        TORCH,
        name,
        tokenizer,
        max_length=max_length,
        workers=workers,
        tensors="pt",
        pin=cuda,
        model=model,
        device=torch.device(device),
        accepted=accepted,
        weights=weights,
        **common,
    )
