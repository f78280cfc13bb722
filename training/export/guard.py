"""The int8 model's guard: what it is measured on, its scores against the gold labels and against PyTorch, and the
verdict that keeps or refuses it (``training.export.run`` deletes a refused int8 model; the fp32 one stays)."""

from __future__ import annotations

import numpy as np

from formats.output_folder import ONNX_FILES, ONNX_FP32, ONNX_INT8, TORCH
from training.runtime import predict_sets, sigmoid

FP32_FILE, INT8_FILE = ONNX_FILES[ONNX_FP32], ONNX_FILES[ONNX_INT8]
# The split the variants are measured on (recorded in metrics.json["export"]["split"]): validation, so the
# int8 guard never looks at the test split that the model card reports.
MEASURED_SPLIT = "validation"
# A multi-label int8 model must predict the same whole set as PyTorch on this share of the validation texts. Its
# probabilities stay within a few thousandths, but any label that close to its threshold can flip, and the Space
# and training.predict serve int8: below this, too many visitors would see another answer than the model the card
# describes (docs/bad_inputs.md). Refusing costs only speed: the fp32 model stays, and it agrees.
DEFAULT_MIN_SET_AGREEMENT = 0.95


def scores(logits: np.ndarray, gold: np.ndarray, thresholds) -> dict[str, float]:
    """Accuracy of single-label predictions; of multi-label ones (``thresholds`` given) the exact match as
    ``accuracy`` and micro F1 at the thresholds, what the int8 guard checks."""
    if thresholds is None:
        return {"accuracy": float((logits.argmax(axis=-1) == gold).mean())}
    from sklearn.metrics import f1_score

    predicted = predict_sets(sigmoid(logits), thresholds)
    return {
        "accuracy": float((predicted == gold).all(axis=1).mean()),
        "f1_micro": float(f1_score(gold, predicted, average="micro", zero_division=0)),
    }


def set_agreement(predicted: np.ndarray, reference: np.ndarray) -> float:
    """The share of texts whose whole predicted set (a 0/1 row) equals the reference's."""
    return float((predicted == reference).all(axis=1).mean()) if len(reference) else 1.0


def int8_verdict(report: dict, guard: str, max_drop_points: float, min_set_agreement: float) -> tuple[bool, str]:
    """Whether the int8 model is kept, and why: its guard figure may drop at most ``max_drop_points`` below
    PyTorch's, and a multi-label model's sets must equal PyTorch's on at least ``min_set_agreement`` of the texts."""
    drop = 100 * (report[TORCH][guard] - report[ONNX_INT8][guard])
    what = "accuracy" if guard == "accuracy" else "micro F1"
    removed = f"{INT8_FILE} removed, {FP32_FILE} kept"
    if drop > max_drop_points:
        return False, (
            f"int8 model refused: {what} {report[ONNX_INT8][guard]:.2%} is {drop:.2f} points "
            f"below PyTorch's {report[TORCH][guard]:.2%} (allowed: {max_drop_points}); {removed}"
        )
    reason = f"int8 {what} drop {drop:.2f} points <= {max_drop_points} allowed"
    agreement = report[ONNX_INT8].get("set_agreement")
    if agreement is None:
        return True, reason
    sets = f"{agreement:.1%} of the {MEASURED_SPLIT} texts get PyTorch's set"
    if agreement < min_set_agreement:
        return False, f"int8 model refused: only {sets} (required: {min_set_agreement:.0%}); {removed}"
    return True, f"{reason}; {sets} (required: {min_set_agreement:.0%})"
