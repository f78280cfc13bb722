"""Running a saved model: loading it, its forward pass on PyTorch or ONNX Runtime, the softmax and the sigmoid.

Every part that runs a trained output folder goes through this module: ``training.predict`` (label a
corpus), ``training.export`` (the accuracy and latency check of the ONNX files) and ``training.quality.calibration``
(probabilities before and after temperature scaling). Exporting a model is ``training.export``'s job alone;
labelling a corpus does not depend on the exporter.

A forward pass, whatever runs it, has one signature (:data:`RunBatch`): the tokenizer's output as numpy
int64 arrays in, logits as a numpy ``(batch, num_labels)`` array out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from formats.model_config import label_thresholds
from training.errors import ToolkitError

# A forward pass: tokenizer output as numpy int64 arrays -> logits (batch, num_labels).
RunBatch = Callable[[dict[str, np.ndarray]], np.ndarray]


def decision_thresholds(config, where: str) -> np.ndarray | None:
    """A multi-label model's thresholds in label order (``formats.model_config.label_thresholds``, the one rule),
    or None for a single-label model.

    Raises:
        ToolkitError: a threshold that is not a number from 0 to 1; the message starts with ``where``.
    """
    try:
        thresholds = label_thresholds(config)
    except ValueError as error:
        raise ToolkitError(f"{where}: {error}") from None
    return None if thresholds is None else np.array(list(thresholds.values()))


def read_json_object(path: Path, where: str) -> dict:
    """A JSON file of the output folder (``config.json``, ``train_config.json``) as a dict, read before a library
    does: transformers answers a broken config.json with an OSError and a traceback.

    Raises:
        ToolkitError: not UTF-8, not valid JSON, or not a JSON object; the message starts with ``where``.
    """
    try:
        content = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ToolkitError(f"{where}: not UTF-8 — expected the JSON file python -m training wrote") from None
    except json.JSONDecodeError as err:
        raise ToolkitError(
            f"{where}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno}) — expected the JSON file "
            "python -m training wrote; restore it from the run (or the Hub repo)"
        ) from None
    if not isinstance(content, dict):
        raise ToolkitError(f"{where}: holds a JSON {type(content).__name__} — expected a JSON object")
    return content


def softmax(logits: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so that large logits cannot overflow.

    Args:
        logits: ``(..., num_labels)`` scores.
        dtype: the precision to compute in: float64 (the default) where the probabilities feed a fit
            (calibration), float32 where millions of rows are written out (``training.predict``).
    """
    shifted = np.asarray(logits, dtype=dtype)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function (a multi-label model's probabilities), in float64, stable for large logits
    of either sign."""
    logits = np.asarray(logits, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -logits))


def model_probabilities(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """A model's probabilities from its logits: softmax, or for a multi-label model each label's sigmoid."""
    return sigmoid(logits) if multi_label else softmax(logits)


def predict_sets(probabilities: np.ndarray, thresholds) -> np.ndarray:
    """0/1 predictions of a multi-label model: a label wherever its probability reaches its threshold."""
    return (np.asarray(probabilities) >= np.asarray(thresholds)[None, :]).astype(np.int8)


def max_input_length(tokenizer, config) -> int:
    """The longest input in tokens: the tokenizer's limit, capped by the model's position embeddings."""
    return min(tokenizer.model_max_length, config.max_position_embeddings)


def load_model(folder: Path):
    """The trained model in fp32 and eval mode, its tokenizer, and the longest input both accept.

    Args:
        folder: a folder written by ``python -m training`` (or any ``save_pretrained`` classifier).

    Returns:
        ``(model, tokenizer, max_length)``.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return model, tokenizer, max_input_length(tokenizer, model.config)


def onnx_session(path: Path, threads: int) -> RunBatch:
    """An onnxruntime CPU session's forward pass (fed only the inputs the graph declares).

    Idle threads sleep instead of spinning, as in the Space: spinning threads would also slow whatever
    runs next on the same cores (the PyTorch runner that the export check times right after).

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(encoded: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(["logits"], {name: encoded[name].astype(np.int64) for name in names})[0]

    return run


def torch_runner(model) -> RunBatch:
    """The PyTorch eager forward pass with the same signature as :func:`onnx_session`'s (on the model's device)."""
    import torch

    def run(encoded: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(model.device) for k, v in encoded.items()}
            return model(**inputs).logits.float().cpu().numpy()

    return run


def probability_rows(run: RunBatch, tokenizer, max_length: int, labels: list[str], multi_label: bool, batch_size=32):
    """A ``predict(texts)`` answering each text's ``{label: probability}`` (softmax, or each label's sigmoid):
    what ``formats.explain.explain`` reads, on PyTorch (:func:`torch_runner`) or ONNX (:func:`onnx_session`).

    Args:
        run: the forward pass.
        tokenizer: the model's tokenizer (transformers).
        max_length: the longest input in tokens; longer texts are truncated.
        labels: the class names in id order.
        multi_label: sigmoid per label instead of softmax.
        batch_size: texts per forward pass.
    """

    def predict(texts: list[str]) -> list[dict[str, float]]:
        rows = []
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="np",
            )
            logits = run({name: np.asarray(value, dtype=np.int64) for name, value in encoded.items()})
            probabilities = model_probabilities(logits, multi_label)
            rows += [dict(zip(labels, map(float, row), strict=True)) for row in probabilities]
        return rows

    return predict
