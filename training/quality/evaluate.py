"""Metrics, the confusion-matrix figure and the per-example error table: pure functions.

All metrics are fractions (0-1). The confusion matrix has gold labels as rows and predictions as
columns, both in label-id order.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are written to files; never open a window

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(y_true, y_pred, labels: list[str], sample_weight=None) -> dict:
    """Accuracy, macro / weighted F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        y_true: gold label ids.
        y_pred: predicted label ids.
        labels: label names in id order.
        sample_weight: how many examples each ``(y_true, y_pred)`` pair stands for (default: one each).

    Returns:
        The ``metrics.json`` entry for one split.
    """
    ids = list(range(len(labels)))
    weights = {"sample_weight": sample_weight}
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, zero_division=0, **weights
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred, **weights)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0, **weights)),
        "f1_weighted": float(f1_score(y_true, y_pred, labels=ids, average="weighted", zero_division=0, **weights)),
        "per_class": per_class(labels, precision, recall, f1, support),
        "confusion_matrix": np.rint(confusion_matrix(y_true, y_pred, labels=ids, **weights)).astype(int).tolist(),
    }


def per_class(labels: list[str], precision, recall, f1, support) -> dict[str, dict]:
    """metrics.json's ``per_class`` entry: each label's precision, recall, F1 and support (a whole count: a
    weighted support is rounded)."""
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(np.rint(support[i])),
        }
        for i, name in enumerate(labels)
    }


def metrics_from_confusion(matrix, labels: list[str]) -> dict:
    """:func:`classification_metrics` from a confusion matrix (gold rows, predicted columns) alone.

    What a streamed prediction keeps instead of every gold and predicted id: each cell is one
    ``(gold, predicted)`` pair weighted by its count, which gives the same figures.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    gold, predicted = np.nonzero(counts)
    return classification_metrics(gold, predicted, labels, sample_weight=counts[gold, predicted])


def per_example_loss(logits: np.ndarray, y_true) -> np.ndarray:
    """Cross-entropy of each example (natural log), computed stably from the logits."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(logits)), np.asarray(y_true)]


def errors_table(texts: list[str], y_true, logits: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Every example with gold label, prediction and loss, highest loss first (mislabels rise to the top).

    Columns ``index,text,label,predicted,loss``; ``index`` is the row in the evaluated split.
    """
    y_true = np.asarray(y_true)
    table = pd.DataFrame(
        {
            "index": np.arange(len(texts)),
            "text": texts,
            "label": [labels[i] for i in y_true],
            "predicted": [labels[i] for i in np.asarray(logits).argmax(axis=1)],
            "loss": per_example_loss(logits, y_true),
        }
    )
    # A stable sort keeps the split order among equal losses, so the file is reproducible.
    return table.sort_values("loss", ascending=False, kind="stable").reset_index(drop=True)


def confusion_figure(matrix, labels: list[str], title: str = "Normalized confusion matrix") -> Figure:
    """The confusion matrix normalized per gold label (rows sum to 1), annotated and labelled."""
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = max(4.0, 0.8 * len(labels) + 2)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    image = ax.imshow(normalized, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title)
    for row in range(len(labels)):
        for col in range(len(labels)):
            value = normalized[row, col]
            ax.text(
                col,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                color="white" if value > 0.5 else "black",
                fontsize=8,
            )
    fig.tight_layout()
    return fig
