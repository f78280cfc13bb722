"""What fine-tuning optimises and how it picks the epoch: the loss with its weights, and the epoch metrics.

Single-label: cross-entropy, with ``--class-weights balanced`` a weight per class (scikit-learn's
``n / (classes x n_class)``). Multi-label: binary cross-entropy per label, with ``balanced`` a positive
weight per label (negatives / positives, capped: ``training.quality.multi_label.POS_WEIGHT_CAP``); the head's bias
starts at each label's prior log odds. The epoch kept is the one with the best validation macro F1 — for
multi-label, at thresholds tuned on that validation split, as the saved model will use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from training.quality.multi_label import multi_label_metrics, positive_weights, prior_log_odds, tune_thresholds
from training.runtime import sigmoid


def class_weights(label_ids, num_labels: int, mode: str) -> np.ndarray | None:
    """Per-class loss weights: ``balanced`` is scikit-learn's ``n / (classes x n_class)``, ``none`` is None.

    A class with no training example (possible with ``--min-class-examples 0``) gets weight 1.
    """
    if mode == "none":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    label_ids = np.asarray(label_ids)
    present = np.unique(label_ids)
    weights = np.ones(num_labels)
    weights[present] = compute_class_weight("balanced", classes=present, y=label_ids) * len(present) / num_labels
    return weights


@dataclass(frozen=True)
class WeightedCrossEntropy:
    """Trainer's ``compute_loss_func``: cross-entropy with a weight per class.

    The batch loss is ``sum(w[y_i] * ce_i) / sum(w[y_i])`` (PyTorch's weighted mean), so with all weights
    equal it is the model's own loss.
    """

    weights: tuple[float, ...]

    def __call__(self, outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"]
        weight = torch.tensor(self.weights, dtype=torch.float32, device=logits.device)
        return torch.nn.functional.cross_entropy(logits.float(), labels, weight=weight)


def trainer_metrics(labels: list[str]):
    """The scalar metrics logged at each evaluation (and used to pick the best epoch)."""
    from training.quality.evaluate import classification_metrics

    def compute(prediction):
        metrics = classification_metrics(prediction.label_ids, prediction.predictions.argmax(-1), labels)
        return {key: metrics[key] for key in ("accuracy", "f1_macro", "f1_weighted")}

    return compute


@dataclass(frozen=True)
class WeightedBinaryCrossEntropy:
    """Trainer's ``compute_loss_func`` for multi-label: BCE on the logits with a positive weight per label."""

    pos_weight: tuple[float, ...]

    def __call__(self, outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"].float()
        weight = torch.tensor(self.pos_weight, dtype=torch.float32, device=logits.device)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.float(), pos_weight=weight)


def multi_label_trainer_metrics(labels: list[str], objective: str):
    """The scalar metrics of each evaluation of a multi-label model: macro F1 at thresholds tuned on the
    evaluated (validation) split, as the saved model will be used, and macro F1 at 0.5 beside it."""

    def compute(prediction):
        probabilities, gold = sigmoid(prediction.predictions), np.asarray(prediction.label_ids)
        thresholds, _ = tune_thresholds(gold, probabilities, labels, objective)
        metrics = multi_label_metrics(gold, probabilities, thresholds, labels)
        return {
            "accuracy": metrics["accuracy"],
            "f1_macro": metrics["f1_macro"],
            "f1_micro": metrics["f1_micro"],
            "f1_macro_at_0_5": metrics["at_0_5"]["f1_macro"],
        }

    return compute


def start_at_priors(model, y_train) -> bool:
    """Set the head's last bias to the labels' prior log odds (a new multi-label head); False when the model
    has no final linear layer with a bias."""
    from training.quality.calibration import final_linear_layer

    layer = final_linear_layer(model, np.asarray(y_train).shape[1])
    if layer is None or layer.bias is None:
        return False
    with torch.no_grad():
        layer.bias.copy_(torch.as_tensor(prior_log_odds(y_train), dtype=layer.bias.dtype))
    return True


def resolved_class_weights(mode: str, multi_label: bool) -> str:
    """What ``--class-weights mode`` means for this data: ``auto`` is ``balanced`` for single-label data and
    ``none`` for multi-label data."""
    if mode != "auto":
        return mode
    return "none" if multi_label else "balanced"


def loss_function(labels: list[str], train_labels, mode: str, multi_label: bool):
    """Trainer's ``compute_loss_func`` for ``--class-weights mode`` (None: the model's own loss), and the
    weights as ``metrics.json`` records them (label -> weight; None without weights). ``auto``: see
    :func:`resolved_class_weights`, as measured (docs/model_quality.md, docs/multi_label.md)."""
    mode = resolved_class_weights(mode, multi_label)
    if multi_label:
        weights = positive_weights(train_labels, mode)
        loss = None if weights is None else WeightedBinaryCrossEntropy(tuple(weights.tolist()))
    else:
        weights = class_weights(train_labels, len(labels), mode)
        loss = None if weights is None else WeightedCrossEntropy(tuple(weights.tolist()))
    recorded = None if weights is None else dict(zip(labels, (round(float(w), 4) for w in weights), strict=True))
    return loss, recorded
