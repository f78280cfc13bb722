"""Multi-label prediction: each text's predicted set, and the metrics of a whole input from per-shard counts.

A label is predicted where its probability (its sigmoid) reaches the model's threshold for it
(``training.runtime.predict_sets``, as training evaluates). The metrics are those of
``training.quality.multi_label.multi_label_metrics`` — at the model's thresholds, and at 0.5 under ``at_0_5`` —
but computed without holding the input's rows: each shard stores, per label, its true positives, false
positives and false negatives, and per text the sums the samples averages need (exact matches, samples F1,
samples Jaccard). Summed over the shards they give every metric exactly, with scikit-learn's definitions
(``zero_division`` as in training: 0 per label, 1 for a text with neither a gold nor a predicted label).

ROC-AUC is left out: it ranks every text's probability against every other's, which no fixed-size count per
shard gives exactly, and an approximation (binned scores) would sit beside ``metrics.json``'s exact figure
as if it were the same number. ``python -m training`` reports it on its own test split.
"""

from __future__ import annotations

import numpy as np

from formats.model_config import DEFAULT_THRESHOLD
from training.quality.evaluate import per_class
from training.runtime import predict_sets


def predicted(probabilities: np.ndarray, thresholds) -> np.ndarray:
    """``(texts, labels)`` booleans: each label whose probability reaches its threshold."""
    return predict_sets(probabilities, thresholds).astype(bool)


def set_counts(gold: np.ndarray, guess: np.ndarray) -> dict:
    """The counts of one shard at one operating point (``gold`` and ``guess``: ``(texts, labels)`` booleans)."""
    both = gold & guess
    inter, sizes, union = both.sum(axis=1), gold.sum(axis=1) + guess.sum(axis=1), (gold | guess).sum(axis=1)
    return {
        "tp": both.sum(axis=0).tolist(),
        "fp": (guess & ~gold).sum(axis=0).tolist(),
        "fn": (gold & ~guess).sum(axis=0).tolist(),
        "exact": int((gold == guess).all(axis=1).sum()),
        "f1_samples": float(np.where(sizes > 0, 2 * inter / np.maximum(sizes, 1), 1.0).sum()),
        "jaccard_samples": float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).sum()),
    }


def shard_counts(gold: np.ndarray, probabilities: np.ndarray, thresholds) -> dict:
    """What one shard's ``part-NNNNN.json`` keeps for the metrics: its counts at the thresholds and at 0.5."""
    gold = np.asarray(gold, dtype=bool)
    return {
        "texts": len(gold),
        "tuned": set_counts(gold, predicted(probabilities, thresholds)),
        "at_0_5": set_counts(gold, predicted(probabilities, np.full(len(thresholds), DEFAULT_THRESHOLD))),
    }


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    numerator, denominator = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def metrics_from(counts: dict, texts: int, labels: list[str]) -> dict:
    """``training.quality.multi_label.set_metrics``'s entry from summed counts (same keys, same definitions)."""
    tp, fp, fn = (np.asarray(counts[key], dtype=np.int64) for key in ("tp", "fp", "fn"))
    support = tp + fn
    precision, recall, f1 = ratio(tp, tp + fp), ratio(tp, support), ratio(2 * tp, 2 * tp + fp + fn)
    exact = counts["exact"] / texts
    return {
        "accuracy": exact,  # subset accuracy, as in training's metrics.json
        "exact_match": exact,
        "f1_macro": float(f1.mean()),
        "f1_micro": float(ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())),
        "f1_weighted": float(ratio((f1 * support).sum(), support.sum())),
        "f1_samples": counts["f1_samples"] / texts,
        "jaccard_samples": counts["jaccard_samples"] / texts,
        "hamming_loss": float((fp.sum() + fn.sum()) / (texts * len(labels))),
        "per_class": per_class(labels, precision, recall, f1, support),
    }


def added(shards: list[dict], point: str) -> dict:
    """The counts of every shard at one operating point (``tuned`` or ``at_0_5``), added up."""
    total = {key: np.sum([shard[point][key] for shard in shards], axis=0) for key in ("tp", "fp", "fn")}
    for key in ("exact", "f1_samples", "jaccard_samples"):
        total[key] = sum(shard[point][key] for shard in shards)
    return total


def multi_label_summary(shards: list[dict], labels: list[str], thresholds) -> tuple[dict, str]:
    """The metrics of the whole input (``predict_metrics.json``) and their part of the summary line.

    Args:
        shards: each shard's :func:`shard_counts` (a shard without labelled texts has none).
        labels: label names in id order.
        thresholds: the model's threshold of each label, in that order.
    """
    shards = [shard for shard in shards if shard["texts"]]
    texts = sum(shard["texts"] for shard in shards)
    if not texts:
        return {}, ""
    tuned = metrics_from(added(shards, "tuned"), texts, labels)
    for name, threshold in zip(labels, thresholds, strict=True):
        tuned["per_class"][name]["threshold"] = float(threshold)
    metrics = {**tuned, "at_0_5": metrics_from(added(shards, "at_0_5"), texts, labels)}
    line = (
        f"; macro F1 {tuned['f1_macro']:.2%}, micro F1 {tuned['f1_micro']:.2%}, exact match {tuned['exact_match']:.2%}"
        f" at the model's thresholds (macro F1 {metrics['at_0_5']['f1_macro']:.2%} at 0.5) on {texts:,} labelled texts"
    )
    return metrics, line
