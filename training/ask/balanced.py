"""The ``balanced`` strategy and the first sheet from no labels: pure functions of arrays.

Why not the most uncertain texts? A weak first model is least sure on the borders of the common classes
(joy/sadness), so uncertainty sampling asks for fewer texts of the rare classes than chance would, and macro F1
is won or lost on those (docs/active_learning.md). ``balanced`` follows what the literature measured to work at
small budgets on imbalanced, noisy data:

1. a **random floor** (:attr:`Balance.floor` of the batch): whatever else goes wrong, that share is as good as
   chance;
2. **quotas per predicted class** (:func:`class_quotas`) that raise the classes the labelled set has fewest of
   first (class-balanced selection, Emam et al. 2021); a multi-label model's group is the label nearest its
   threshold;
3. **within a class, sampling in proportion to a power of the margin uncertainty** (:func:`power_order`,
   baal's PowerSampling), not the top k: the top k of a weak model are its most ambiguous or mislabelled texts;
4. **no outliers** (:func:`sparse`): a candidate in the sparsest :attr:`Balance.outliers` of the embedding
   (least mean cosine to its nearest neighbours in a sample of the pool) is passed over ("Mind Your
   Outliers!", Karamcheti et al. 2021); near-duplicates never both go in (:func:`training.ask.ranking.choose`).

With no trained head (MODEL is a base encoder), :func:`typical_picks` chooses the first sheet: cluster the
embeddings, take each cluster's most typical text (TypiClust, Hacohen et al. 2022).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from training.ask.ranking import TINY, choose

NEIGHBOURS = 20  # k of the mean cosine to the k nearest neighbours (typicality, density)
REFERENCE = 2_000  # pool texts sampled as the reference of density (the outlier filter)
OVERSAMPLE = 3  # candidates drawn per text of a class's quota, before outliers are dropped


@dataclass(frozen=True)
class Balance:
    """The settings of ``balanced``: set a priori, not tuned (docs/active_learning.md says why)."""

    floor: float = 0.2  # share of the batch picked at random
    power: float = 1.0  # within a class, P(pick) ~ uncertainty ** power; 0 = at random
    outliers: float = 0.1  # the sparsest share of the pool passed over


def groups(probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Each text's group for the quotas: its predicted class, or for a multi-label model the label nearest its
    threshold (the one its uncertainty is about)."""
    probs = np.asarray(probs, dtype=np.float64)
    if thresholds is None:
        return probs.argmax(axis=1)
    return np.abs(probs - np.asarray(thresholds, dtype=np.float64)).argmin(axis=1)


def class_quotas(available: np.ndarray, labelled: np.ndarray, budget: int) -> np.ndarray:
    """Split ``budget`` over the classes so that labelled + asked is as even as the pool allows.

    Each next text goes to the class with the fewest labelled-or-quota texts that still has texts left
    (ties: the lower class id), so the classes the labelled set lacks are filled first.

    Args:
        available: texts left to ask per (predicted) class.
        labelled: texts labelled already per class (zeros when unknown).
        budget: texts to split.

    Returns:
        The quota per class (sums to ``min(budget, available.sum())``).
    """
    available = np.asarray(available, dtype=np.int64)
    totals = np.asarray(labelled, dtype=np.float64).copy()
    quotas = np.zeros(len(available), dtype=np.int64)
    for _ in range(min(budget, int(available.sum()))):
        c = int(np.argmin(np.where(quotas < available, totals, np.inf)))
        quotas[c] += 1
        totals[c] += 1
    return quotas


def power_order(scores: np.ndarray, power: float, rng: np.random.Generator) -> np.ndarray:
    """A random order of the rows in which each next row is drawn with probability proportional to
    ``score ** power`` among those left (Gumbel top-k: ``power * log(score) + Gumbel noise``, sorted).

    ``power`` 0 is a uniform permutation; a large ``power`` tends to the order of the scores.
    """
    keys = power * np.log(np.maximum(np.asarray(scores, dtype=np.float64), TINY)) + rng.gumbel(size=len(scores))
    return np.argsort(-keys, kind="stable")


def density(embeddings: np.ndarray, reference: np.ndarray, k: int = NEIGHBOURS, itself: bool = False) -> np.ndarray:
    """Each row's mean cosine similarity to its ``k`` nearest rows of ``reference`` (L2-normalised vectors).

    Args:
        embeddings: ``(rows, dim)``.
        reference: ``(m, dim)``.
        k: neighbours averaged (at most the rows of ``reference`` there are).
        itself: the rows are ``reference`` itself: each row's similarity to itself is left out.
    """
    similarity = np.asarray(embeddings, dtype=np.float64) @ np.asarray(reference, dtype=np.float64).T
    if itself:
        np.fill_diagonal(similarity, -np.inf)
    k = max(1, min(k, similarity.shape[1] - int(itself)))
    return np.sort(similarity, axis=1)[:, -k:].mean(axis=1)


def sparse(embeddings: np.ndarray, reference: np.ndarray, share: float, k: int = NEIGHBOURS) -> np.ndarray:
    """Which rows lie in the sparsest ``share`` of the pool: their density (:func:`density`) is below the
    ``share`` quantile of the reference rows' own density. All False when ``share`` is 0."""
    if share <= 0 or len(reference) < 2:
        return np.zeros(len(embeddings), dtype=bool)
    cut = np.quantile(density(reference, reference, k, itself=True), share)
    return density(embeddings, reference, k) < cut


def interleaved(lists: list[list[int]], quotas: list[int]) -> list[int]:
    """The first ``quotas[i]`` items of each list, merged so that every prefix holds each list in proportion
    to its quota (item j of list i at ``(j + 0.5) / quota``), then the other items of each list, list by list:
    the backups taken when near-duplicates pass an item over."""
    placed = sorted(
        ((j + 0.5) / q, i, item)
        for i, (items, q) in enumerate(zip(lists, quotas, strict=True))
        for j, item in enumerate(items[:q])
    )
    rest = [item for items, q in zip(lists, quotas, strict=True) for item in items[q:]]
    return [item for _, _, item in placed] + rest


def balanced_choose(
    classes: np.ndarray,
    scores: np.ndarray,
    labelled: np.ndarray,
    budget: int,
    embed: Callable[[np.ndarray], np.ndarray],
    seed: int = 0,
    balance: Balance = Balance(),
) -> list[int]:
    """Pick ``budget`` rows the ``balanced`` way (the module docstring's steps 1 to 4), in labelling order.

    Args:
        classes: each row's group (:func:`groups`), ``0 .. len(labelled) - 1``.
        scores: each row's margin uncertainty.
        labelled: texts labelled already per class (zeros when unknown).
        budget: how many rows to pick.
        embed: rows -> their L2-normalised embeddings (called on the candidates and a reference sample only).
        seed: seeds the floor, the reference sample and the sampling within classes.
        balance: the floor share, the power and the outlier share.

    Returns:
        The picked rows (indices into ``classes``), never two near-duplicates; fewer than ``budget`` only when
        near-duplicates leave too few rows.
    """
    rng = np.random.default_rng(seed)
    rows = len(classes)
    shuffled = rng.permutation(rows)
    floor = shuffled[: round(balance.floor * budget)]
    rest = np.setdiff1d(np.arange(rows), floor, assume_unique=True)
    quotas = class_quotas(np.bincount(classes[rest], minlength=len(labelled)), labelled, budget - len(floor))
    per_class = [rest[classes[rest] == c] for c in range(len(labelled))]
    ordered = [members[power_order(scores[members], balance.power, rng)] for members in per_class]
    candidates = np.concatenate([members[: OVERSAMPLE * q] for members, q in zip(ordered, quotas, strict=True)])
    cache = Cached(embed)
    outlier = set()
    if balance.outliers > 0 and len(candidates):
        flags = sparse(cache(candidates), cache(shuffled[:REFERENCE]), balance.outliers)
        outlier = set(candidates[flags].tolist())
    lists = [
        [int(r) for r in members[: OVERSAMPLE * q] if r not in outlier]
        for members, q in zip(ordered, quotas, strict=True)
    ]
    lists.append([int(r) for r in floor])
    proposal = interleaved(lists, [*quotas.tolist(), len(floor)])
    taken = set(proposal) | outlier
    backups = [int(r) for members in ordered for r in members if r not in taken]
    return choose(np.asarray(proposal + backups + sorted(outlier), dtype=np.int64), budget, cache)


class Cached:
    """An ``embed`` function that embeds each row once, however often it is asked."""

    def __init__(self, embed: Callable[[np.ndarray], np.ndarray]):
        self.embed, self.vectors = embed, {}

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        new = [int(r) for r in dict.fromkeys(np.asarray(rows).tolist()) if int(r) not in self.vectors]
        if new:
            self.vectors.update(zip(new, self.embed(np.asarray(new, dtype=np.int64)), strict=True))
        return np.stack([self.vectors[int(r)] for r in rows]) if len(rows) else np.empty((0, 0), dtype=np.float32)


def typical_picks(embeddings: np.ndarray, budget: int, seed: int = 0, k: int = NEIGHBOURS) -> list[int]:
    """The first sheet with no model: ``budget`` clusters of the embeddings (k-means), each cluster's most
    typical row (the highest mean cosine to its ``k`` nearest neighbours in the cluster), largest clusters first.

    Args:
        embeddings: ``(rows, dim)`` L2-normalised embeddings of a base encoder.
        budget: how many rows to pick (clusters).
        seed: k-means' seed.
        k: neighbours of the typicality.

    Returns:
        One row per cluster, in labelling order: the largest (most common kind of text) first.
    """
    from sklearn.cluster import KMeans

    budget = min(budget, len(embeddings))
    cluster = KMeans(n_clusters=budget, n_init=1, random_state=seed).fit_predict(embeddings)
    sizes = np.bincount(cluster, minlength=budget)
    picks = []
    for c in np.argsort(-sizes, kind="stable"):
        members = np.nonzero(cluster == c)[0]
        if len(members):
            typical = density(embeddings[members], embeddings[members], k, itself=len(members) > 1)
            picks.append(int(members[np.argmax(typical)]))
    return picks
