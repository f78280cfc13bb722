"""Confident learning (cleanlab): which texts' labels look wrong, how many, and what they likely are.

:func:`suspects` ranks the texts cleanlab's ``find_label_issues`` finds (prune by noise rate; multi-label:
``cleanlab.multilabel_classification``), worst label quality first (self-confidence: the out-of-sample probability
of the given label). :func:`estimate` turns them into the share of wrong labels, per class, and the most common
given -> likely pairs: cleanlab's count of issues is its estimate of the number of wrong labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from training.data.labels import multi_hot

PAIRS_SHOWN = 10  # the most common given -> likely pairs in the estimate


@dataclass(frozen=True)
class Suspects:
    """One split's suspects: their rows (worst first), every row's label quality, and the likely labels."""

    rows: np.ndarray  # row numbers of the split, worst label quality first
    quality: np.ndarray  # every row's label quality, 0 (surely wrong) to 1
    likely: list  # every row's likely label: a class id (multi-label: a tuple of ids)


def likely_labels(probabilities: np.ndarray, multi_label: bool, thresholds: np.ndarray | None = None) -> list:
    """Each row's likely label: the most probable class, or for multi-label data the labels at or above their
    threshold (0.5 without one)."""
    if not multi_label:
        return probabilities.argmax(axis=1).tolist()
    cut = np.full(probabilities.shape[1], 0.5) if thresholds is None else thresholds
    return [tuple(np.flatnonzero(row >= cut).tolist()) for row in probabilities]


def suspects(given, probabilities: np.ndarray, multi_label: bool, thresholds: np.ndarray | None = None) -> Suspects:
    """The texts whose label looks wrong, by cleanlab.

    Args:
        given: each text's class id (multi-label: a list of ids).
        probabilities: ``(n, classes)`` out-of-sample probabilities.
        multi_label: the data is multi-label.
        thresholds: a multi-label model's thresholds (the likely set); None: 0.5.
    """
    if multi_label:
        from cleanlab.multilabel_classification.filter import find_label_issues
        from cleanlab.multilabel_classification.rank import get_label_quality_scores

        labels = [list(ids) for ids in given]
        rows = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence")
        quality = get_label_quality_scores(labels, probabilities)
    else:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        labels = np.asarray(given, dtype=np.int64)
        rows = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence")
        quality = get_label_quality_scores(labels, probabilities)
    return Suspects(
        np.asarray(rows, dtype=np.int64), np.asarray(quality), likely_labels(probabilities, multi_label, thresholds)
    )


def name_of(label, label_names: list[str]) -> str:
    """A class id, or a tuple of them, as the sheet and the estimate write it (``joy``, ``joy,love``, ``none``)."""
    if isinstance(label, int | np.integer):
        return label_names[int(label)]
    return ",".join(label_names[i] for i in label) or "none"


def estimate(given, found: Suspects, label_names: list[str], multi_label: bool, method: str) -> dict:
    """One split's estimate: the share of labels that look wrong, per class, and the commonest given -> likely.

    Args:
        given: each text's class id (multi-label: a list of ids).
        found: the split's :class:`Suspects` (already without the texts the owner kept).
        label_names: the classes.
        multi_label: the data is multi-label (a text counts in the class of each of its labels).
        method: how its probabilities were got (the card's words).
    """
    rows = set(found.rows.tolist())
    hot = multi_hot(given, len(label_names)) if multi_label else None
    per_class = {}
    for index, name in enumerate(label_names):
        members = np.flatnonzero(hot[:, index]) if multi_label else np.flatnonzero(np.asarray(given) == index)
        wrong = sum(int(row) in rows for row in members)
        per_class[name] = {
            "texts": len(members),
            "suspects": wrong,
            "share": round(wrong / len(members), 4) if len(members) else None,
        }
    pairs = Counter(
        (
            name_of(tuple(given[row]) if multi_label else given[row], label_names),
            name_of(found.likely[row], label_names),
        )
        for row in found.rows.tolist()
    )
    return {
        "method": f"confident learning, {method}",
        "texts": len(given),
        "suspects": len(rows),
        "share": round(len(rows) / len(given), 4) if len(given) else 0.0,
        "per_class": per_class,
        "pairs": [{"given": a, "likely": b, "count": n} for (a, b), n in pairs.most_common(PAIRS_SHOWN)],
    }
