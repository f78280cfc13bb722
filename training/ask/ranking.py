"""How ``training.ask`` ranks and picks texts: pure functions of probability and embedding arrays.

Every score here is an *uncertainty*: higher means the model is less sure, and the texts are asked most
uncertain first.

- ``margin``: one minus the gap between the two most probable classes, ``1 - (p1 - p2)``. For a multi-label
  model (independent sigmoids with a threshold each), one minus the distance of the label nearest its
  threshold, ``1 - min_l |p_l - t_l|``.
- ``entropy``: the entropy of the class distribution divided by ``log(classes)`` (0 to 1). For a multi-label
  model, the mean over labels of each label's binary entropy in bits (0 to 1).
- ``random`` (the default: :data:`DEFAULT`): a seeded permutation; the sheet still shows each row's margin
  uncertainty.
- ``balanced``: quotas per predicted class, sampling by margin uncertainty within a class, no outliers, a random
  floor (:mod:`training.ask.balanced`).

Whatever the strategy, two near-duplicates (cosine similarity of their embeddings at least
:data:`NEAR_DUPLICATE`) never both go in: a second copy teaches the model nothing the first did not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BALANCED, MARGIN, ENTROPY, RANDOM = "balanced", "margin", "entropy", "random"
STRATEGIES = (RANDOM, BALANCED, MARGIN, ENTROPY)
# The default must never lose to chance: on the emotion benchmark (docs/active_learning.md) margin and
# margin-diverse lost to random, and balanced is not measured there yet.
DEFAULT = RANDOM
NEAR_DUPLICATE = 0.95  # cosine similarity from which two texts count as one
SUGGESTED = 3  # labels the sheet suggests per text
TINY = 1e-12  # keeps log(0) out of the entropy


def margin_uncertainty(probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Margin uncertainty of each row of ``probs`` (``(texts, classes)``).

    Args:
        probs: class probabilities (a softmax), or for a multi-label model each label's sigmoid.
        thresholds: a multi-label model's threshold per label; None for a single-label model.

    Returns:
        ``1 - (p1 - p2)`` per row; multi-label: ``1 - min over labels of |p - threshold|``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if thresholds is not None:
        return 1.0 - np.abs(probs - np.asarray(thresholds, dtype=np.float64)).min(axis=1)
    top_two = np.sort(probs, axis=1)[:, -2:]
    return 1.0 - (top_two[:, 1] - top_two[:, 0])


def entropy_uncertainty(probs: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Normalised entropy of each row: 0 for a certain prediction, 1 for a uniform one.

    Args:
        probs: ``(texts, classes)`` probabilities.
        multi_label: each column is an independent label (mean binary entropy in bits) rather than one
            distribution over the classes (entropy over ``log(classes)``).
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), TINY, 1.0)
    if multi_label:
        q = np.clip(1.0 - np.asarray(probs, dtype=np.float64), TINY, 1.0)
        return (-(p * np.log2(p) + q * np.log2(q))).mean(axis=1)
    return -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])


def uncertainty(probs: np.ndarray, strategy: str, thresholds: np.ndarray | None = None) -> np.ndarray:
    """The score a strategy ranks by (the sheet's ``uncertainty``): entropy for ``entropy``, else margin."""
    if strategy == ENTROPY:
        return entropy_uncertainty(probs, multi_label=thresholds is not None)
    return margin_uncertainty(probs, thresholds)


def ranked(scores: np.ndarray, strategy: str, seed: int = 0) -> np.ndarray:
    """Row indices in the order a strategy considers them: most uncertain first (ties: earlier row first),
    or for ``random`` a permutation seeded with ``seed``."""
    if strategy == RANDOM:
        return np.random.default_rng(seed).permutation(len(scores))
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def suggestion(probs: np.ndarray, labels: list[str], thresholds: np.ndarray | None = None) -> str:
    """The sheet's ``suggested`` cell for one text: ``joy 0.41 | sadness 0.38 | fear 0.09``.

    The :data:`SUGGESTED` most probable classes; for a multi-label model the labels nearest their
    thresholds (the ones the model is unsure about), each with its probability.
    """
    probs = np.asarray(probs, dtype=np.float64)
    key = np.abs(probs - thresholds) if thresholds is not None else -probs
    top = np.argsort(key, kind="stable")[:SUGGESTED]
    return " | ".join(f"{labels[i]} {probs[i]:.2f}" for i in top)


def distinct_in_order(
    embeddings: np.ndarray, budget: int, chosen: np.ndarray | None = None, threshold: float = NEAR_DUPLICATE
) -> list[int]:
    """Walk the rows in order and keep each one that is not a near-duplicate of a kept (or ``chosen``) row.

    Args:
        embeddings: ``(rows, dim)`` L2-normalised embeddings, in ranked order.
        budget: the most rows to keep.
        chosen: embeddings of rows kept before (an earlier chunk), or None.
        threshold: cosine similarity from which a row is a near-duplicate.

    Returns:
        Indices of the kept rows, in order.
    """
    kept: list[int] = []
    nearest = initial_nearest(embeddings, chosen)
    for i in range(len(embeddings)):
        if len(kept) >= budget:
            break
        if nearest[i] >= threshold:
            continue
        kept.append(i)
        nearest = np.maximum(nearest, embeddings @ embeddings[i])
    return kept


def initial_nearest(embeddings: np.ndarray, chosen: np.ndarray | None) -> np.ndarray:
    """Each row's highest cosine similarity to a ``chosen`` row (-inf without any)."""
    if chosen is None or not len(chosen):
        return np.full(len(embeddings), -np.inf)
    return (embeddings @ chosen.T).max(axis=1)


def choose(
    order: np.ndarray, budget: int, embed: Callable[[np.ndarray], np.ndarray], threshold: float = NEAR_DUPLICATE
) -> list[int]:
    """Pick ``budget`` rows from ``order`` (ranked rows), in order, never two near-duplicates.

    Candidates are embedded a chunk at a time (about twice the rows still needed), so only the rows looked
    at are ever embedded. When near-duplicates leave a chunk short, the next one is embedded and the pick
    goes on.

    Args:
        order: the rows, as the strategy ranks them.
        budget: how many to pick.
        embed: rows -> their L2-normalised embeddings.
        threshold: cosine similarity from which two rows are near-duplicates.

    Returns:
        The picked rows (values of ``order``), in labelling order.
    """
    picked: list[int] = []
    kept: list[np.ndarray] = []
    start = 0
    while len(picked) < budget and start < len(order):
        needed = budget - len(picked)
        rows = np.asarray(order[start : start + max(2 * needed, 32)])
        start += len(rows)
        vectors = embed(rows)
        before = np.concatenate(kept) if kept else None
        chunk = distinct_in_order(vectors, needed, before, threshold)
        picked += [int(rows[i]) for i in chunk]
        kept.append(vectors[chunk])
    return picked
