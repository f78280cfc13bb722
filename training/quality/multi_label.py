"""Multi-label classification: decision thresholds, metrics, the error table and its figures (pure functions).

A multi-label model gives each label its own probability (a sigmoid of its logit); a label is predicted
when its probability reaches the label's threshold. The thresholds are tuned on the validation split
(``--threshold-objective``): by default each label's own F1, which raises macro F1 (the rare labels get
low thresholds) but predicts more labels, so micro F1 and samples Jaccard can fall; ``micro-f1`` and
``samples-jaccard`` pick one threshold for every label instead. Every metric is reported at the tuned
thresholds and at 0.5, side by side.

Texts with no gold label and no predicted label are right answers: the per-text (``samples``) averages
count them as 1; per-label figures count nothing for them (``zero_division=0``, as for single-label).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are written to files; never open a window

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from formats.flag_record import SET_SEPARATOR
from formats.model_config import DEFAULT_THRESHOLD
from training.quality.evaluate import per_class
from training.runtime import predict_sets, sigmoid

THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.01), 2)  # the candidates of the search
OBJECTIVES = ("f1-per-label", "micro-f1", "samples-jaccard")
# A positive weight of negatives/positives is 560 for GoEmotions' rarest label (grief, 0.18% of the texts): its
# few positives would dominate the loss and the model would predict it everywhere. The cap keeps the weight
# of a rare label at most this many times a common one's (docs/multi_label.md measures it).
POS_WEIGHT_CAP = 10.0


def _counts(y_true: np.ndarray, probabilities: np.ndarray, grid: np.ndarray):
    """True positives, predicted positives and gold positives of each label at each threshold of ``grid``:
    arrays of shape ``(thresholds, labels)``."""
    predicted = probabilities[None, :, :] >= grid[:, None, None]
    gold = y_true.astype(bool)[None, :, :]
    return (predicted & gold).sum(axis=1), predicted.sum(axis=1), gold.sum(axis=1)


def _f1(tp, predicted, gold):
    denominator = predicted + gold
    return np.divide(2 * tp, denominator, out=np.zeros(np.shape(tp), dtype=np.float64), where=denominator > 0)


def _best(scores: np.ndarray) -> float:
    """The threshold of the best score; of equal scores, the one nearest 0.5."""
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(THRESHOLDS[best[np.argmin(np.abs(THRESHOLDS[best] - DEFAULT_THRESHOLD))]])


def tune_thresholds(y_true, probabilities, labels: list[str], objective: str = "f1-per-label"):
    """The decision thresholds that maximise ``objective`` on these (validation) examples.

    Args:
        y_true: ``(texts, labels)`` 0/1 gold matrix.
        probabilities: ``(texts, labels)`` predicted probabilities.
        labels: label names in id order.
        objective: one of :data:`OBJECTIVES`.

    Returns:
        ``(thresholds, notes)``: one threshold per label, and what the user should know (a label without
        validation positives keeps 0.5: no F1 can be measured for it).
    """
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities, dtype=np.float64)
    positives = y_true.sum(axis=0)
    tp, predicted, gold = _counts(y_true, probabilities, THRESHOLDS)
    if objective == "f1-per-label":
        thresholds = np.array([_best(_f1(tp[:, j], predicted[:, j], gold[:, j])) for j in range(len(labels))])
    elif objective == "micro-f1":
        thresholds = np.full(len(labels), _best(_f1(tp.sum(1), predicted.sum(1), gold.sum(1))))
    elif objective == "samples-jaccard":
        scores = [jaccard_samples(y_true, predict_sets(probabilities, np.full(len(labels), t))) for t in THRESHOLDS]
        thresholds = np.full(len(labels), _best(np.asarray(scores)))
    else:
        raise ValueError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    missing = [labels[j] for j in np.flatnonzero(positives == 0)]
    notes = []
    if missing and objective == "f1-per-label":
        thresholds[positives == 0] = DEFAULT_THRESHOLD
        notes.append(f"no validation example of {', '.join(missing)}: threshold 0.5 kept (nothing to tune it on)")
    return thresholds, notes


def jaccard_samples(y_true, y_pred) -> float:
    """Mean per-text Jaccard index of the gold and predicted sets (1 for a text where both are empty)."""
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    union = (y_true | y_pred).sum(axis=1)
    inter = (y_true & y_pred).sum(axis=1)
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0))) if len(y_true) else 0.0


def set_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """The metrics of 0/1 predictions against 0/1 gold (both ``(texts, labels)``)."""
    from sklearn.metrics import f1_score, hamming_loss, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true, dtype=np.int8), np.asarray(y_pred, dtype=np.int8)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    exact = float(np.mean((y_true == y_pred).all(axis=1)))
    return {
        "accuracy": exact,  # subset accuracy: the whole set right (scikit-learn's accuracy_score on sets)
        "exact_match": exact,
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "f1_samples": float(f1_score(y_true, y_pred, average="samples", zero_division=1.0)),
        "jaccard_samples": jaccard_samples(y_true, y_pred),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "per_class": per_class(labels, precision, recall, f1, support),
    }


def roc_auc_macro(y_true, probabilities) -> float | None:
    """Macro ROC-AUC over the labels with both positive and negative examples (None when there are none)."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    present = [j for j in range(y_true.shape[1]) if 0 < y_true[:, j].sum() < len(y_true)]
    if not present:
        return None
    return float(roc_auc_score(y_true[:, present], np.asarray(probabilities)[:, present], average="macro"))


def multi_label_metrics(y_true, probabilities, thresholds, labels: list[str]) -> dict:
    """The ``metrics.json`` entry of one split: every metric at the tuned thresholds (each label's threshold in
    ``per_class``), ``roc_auc_macro``, and the same metrics at 0.5 under ``at_0_5``."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    tuned = set_metrics(y_true, predict_sets(probabilities, thresholds), labels)
    for name, threshold in zip(labels, thresholds, strict=True):
        tuned["per_class"][name]["threshold"] = float(threshold)
    at_half = set_metrics(y_true, predict_sets(probabilities, np.full(len(labels), DEFAULT_THRESHOLD)), labels)
    return {**tuned, "roc_auc_macro": roc_auc_macro(y_true, probabilities), "at_0_5": at_half}


def bce_per_text(logits, y_true) -> np.ndarray:
    """Each text's binary cross-entropy, averaged over its labels (natural log), computed from the logits."""
    logits, y_true = np.asarray(logits, dtype=np.float64), np.asarray(y_true, dtype=np.float64)
    return (np.logaddexp(0.0, logits) - y_true * logits).mean(axis=1)


def label_text(ids, labels: list[str]) -> str:
    """A label set in one cell: names in label order, separated by ``;`` (empty for no label)."""
    return SET_SEPARATOR.join(labels[i] for i in ids)


def errors_table(texts: list[str], y_true, logits, thresholds, labels: list[str]) -> pd.DataFrame:
    """Every text with its gold set, predicted set and BCE loss, highest loss first.

    The columns are single-label ``errors.csv``'s (``index,text,label,predicted,loss``); ``label`` and
    ``predicted`` hold sets, names separated by ``;``.
    """
    y_true = np.asarray(y_true)
    predicted = predict_sets(sigmoid(logits), thresholds)
    table = pd.DataFrame(
        {
            "index": np.arange(len(texts)),
            "text": texts,
            "label": [label_text(np.flatnonzero(row), labels) for row in y_true],
            "predicted": [label_text(np.flatnonzero(row), labels) for row in predicted],
            "loss": bce_per_text(logits, y_true),
        }
    )
    return table.sort_values("loss", ascending=False, kind="stable").reset_index(drop=True)


def positive_weights(y_true, mode: str, cap: float = POS_WEIGHT_CAP) -> np.ndarray | None:
    """``--class-weights`` for multi-label: ``balanced`` gives each label negatives/positives, capped at
    ``cap`` (a label without positives gets 1); ``none`` is None."""
    if mode == "none":
        return None
    y_true = np.asarray(y_true, dtype=np.float64)
    positives = y_true.sum(axis=0)
    negatives = len(y_true) - positives
    ratio = np.divide(negatives, positives, out=np.ones_like(positives), where=positives > 0)
    return np.clip(ratio, 1.0, cap)


def prior_log_odds(y_true) -> np.ndarray:
    """Each label's log odds in the training data (smoothed by one example each way): the bias that makes a
    fresh head start at the label priors, so that "always no" is no early, easy minimum of the loss."""
    y_true = np.asarray(y_true, dtype=np.float64)
    rate = (y_true.sum(axis=0) + 1) / (len(y_true) + 2)
    return np.log(rate / (1 - rate))


def cooccurrence_figure(y_true, labels: list[str], title: str = "Label co-occurrence (train)") -> Figure:
    """How often two labels go together: cell (a, b) is the share of a's texts that also have b (the diagonal,
    always 1, is left blank so that the colour scale shows the pairs)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    together = y_true.T @ y_true
    counts = np.diag(together)[:, None]
    share = np.divide(together, counts, out=np.zeros_like(together), where=counts > 0)
    np.fill_diagonal(share, np.nan)
    size = max(4.0, 0.35 * len(labels) + 2)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=max(float(np.nanmax(share)) if len(labels) > 1 else 1.0, 1e-9))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the row label's texts")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def f1_support_figure(per_class: dict, split: str) -> Figure:
    """Per-label F1 (at the tuned thresholds) against the label's support: do the rare labels suffer?"""
    names = list(per_class)
    support = np.array([per_class[n]["support"] for n in names])
    f1 = np.array([per_class[n]["f1"] for n in names])
    fig = Figure(figsize=(7, 5))
    ax = fig.add_subplot()
    ax.scatter(np.maximum(support, 1), f1, color="tab:blue")
    for name, x, y in zip(names, np.maximum(support, 1), f1, strict=True):
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"support ({split} texts with the label, log scale)")
    ax.set_ylabel("F1 at the tuned threshold")
    ax.set_title(f"Per-label F1 against support ({split})")
    fig.tight_layout()
    return fig
