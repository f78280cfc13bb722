"""Word-level explanations: how much each word of a text raised or lowered one class's probability.

One function, :func:`explain`, behind every explanation: the Space's page and its ``/explain`` endpoint (ONNX or
PyTorch), and ``errors.csv``'s words (training's runtime). It needs only a ``predict(texts)`` that answers each
text's ``{label: probability}``, so it runs on whatever serves the model, single- or multi-label, without torch
or gradients.

The words are the text's own whitespace-separated words (punctuation stays with its word), never WordPieces. A
coalition of words is the text with every other word deleted, and a word's score is its Shapley value for the
label's probability: its mean marginal effect over random orders of adding the words, sampled in antithetic
pairs (an order and its reverse). Unlike deleting one word at a time, this credits redundant words — in
"furious and so angry" each emotion word alone carries the label, and each still gets its share. The scores sum
to the label's probability on the text minus its probability on the empty text.

The cost is bounded: at most :func:`call_budget` texts are predicted per explanation (a few per word, with a
hard cap), each coalition once, in one ``predict`` call. A text with so few words that every coalition fits in
the budget gets the exact Shapley values. A text too long for whole orders within the budget moves its words in
equal groups along each order, a group's effect shared by its words. The orders are drawn from a seeded
generator: the same text, model and budget give the same scores.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# The texts' {label: probability}, in the order of the texts.
Predict = Callable[[list[str]], Sequence[Mapping[str, float]]]

CALLS_PER_WORD = 6  # texts predicted per word of the text: about three antithetic pairs of orders
MAX_CALLS = 192  # the hard cap of texts predicted for one explanation, whatever the text's length
SEED = 0
# The page's sentence on the method, and the /explain endpoint's.
METHOD = (
    "Each word's score is its Shapley value: how much the class's probability changes when the word is added "
    "back to the text, averaged over random orders of the words (the model reruns on the text with words deleted)."
)
# errors.csv's column: the words that pushed most toward the wrong label, strongest first (``explain_errors``).
ERRORS_COLUMN = "words_toward_predicted"
TOP_WORDS = 3  # words of that column


@dataclass(frozen=True)
class Explanation:
    """One label's explanation of a text.

    Attributes:
        label: the label explained.
        probability: its probability on the whole text.
        words: ``(word, score)`` in text order; a score is the word's contribution to the label's probability
            (negative: the word pulled against the label).
        calls: the texts predicted for it (coalitions, the whole and the empty text among them).
    """

    label: str
    probability: float
    words: list[tuple[str, float]]
    calls: int

    def as_json(self) -> dict:
        """The /explain answer: ``{"label", "probability", "words": [[word, score], ...]}``."""
        return {"label": self.label, "probability": self.probability, "words": [list(pair) for pair in self.words]}

    def top_words(self, k: int = TOP_WORDS) -> list[str]:
        """The ``k`` words that raised the label's probability most, strongest first (only positive scores)."""
        ranked = sorted(self.words, key=lambda pair: pair[1], reverse=True)
        return [word for word, score in ranked[:k] if score > 0]


def split_words(text: str) -> list[str]:
    """The words of ``text``: its own whitespace-separated pieces, punctuation kept with its word."""
    return text.split()


def call_budget(n_words: int, max_calls: int = MAX_CALLS) -> int:
    """The most texts one explanation of ``n_words`` words predicts: CALLS_PER_WORD per word, the whole and
    empty text besides, never over ``max_calls``."""
    return min(max_calls, CALLS_PER_WORD * n_words + 2)


def explain(
    text: str, predict: Predict, label: str | None = None, *, max_calls: int = MAX_CALLS, seed: int = SEED
) -> Explanation:
    """Explain ``label``'s probability on ``text`` word by word (module docstring: the method and its cost).

    Args:
        text: the text, at least one word.
        predict: each text's ``{label: probability}`` (the Space's ``Backend.predict``, or
            ``training.runtime.probability_rows``).
        label: the label to explain; None: the most probable one.
        max_calls: the hard cap of texts predicted (at least 4).
        seed: the seed of the sampled orders.

    Raises:
        ValueError: a text without words, or a label the model does not have.
    """
    words = split_words(text)
    if not words:
        raise ValueError("nothing to explain: the text has no words")
    budget = call_budget(len(words), max(4, max_calls))
    masks = _coalitions(len(words), budget, random.Random(seed))
    full = (1 << len(words)) - 1
    coalitions = {0, full} | {mask for walk in masks[1] for mask in walk} if masks[1] else range(full + 1)
    # By length: a batch pads its texts to its longest, so texts of one length waste the least (the whole text last).
    ordered = sorted(coalitions, key=lambda mask: (mask.bit_count(), mask))
    rows = predict([" ".join(w for i, w in enumerate(words) if mask >> i & 1) for mask in ordered])
    label = label if label is not None else max(rows[-1], key=rows[-1].get)
    if label not in rows[-1]:
        raise ValueError(f"label {label!r} is not a class of the model: expected one of {', '.join(rows[-1])}")
    value = {mask: row[label] for mask, row in zip(ordered, rows, strict=True)}
    scores = _exact(value, len(words)) if not masks[1] else _sampled(value, masks[0], masks[1])
    return Explanation(label, value[full], list(zip(words, scores, strict=True)), len(ordered))


def _coalitions(n: int, budget: int, rng: random.Random) -> tuple[list[list[list[int]]], list[list[int]]]:
    """The orders to walk and, for each, the coalition after each step (bit masks of the words present).

    Returns ``([], [])`` when all ``2**n`` coalitions fit in the budget (exact values). Otherwise an order is
    split into ``steps`` groups, as many as one antithetic pair of orders affords, and pairs are added while
    their new coalitions still fit (at least one pair).
    """
    if 2**n <= budget:
        return [], []
    steps = min(n, budget // 2)  # a pair of orders in steps groups predicts 2 * steps texts
    groups, walks, seen = [], [], set()
    while True:
        order = rng.sample(range(n), n)
        pair = [_grouped(order, steps), _grouped(order[::-1], steps)]
        pair_walks = [_prefixes(grouping) for grouping in pair]
        new = {mask for walk in pair_walks for mask in walk[:-1]} - seen
        if walks and len(seen | new) + 2 > budget:
            return groups, walks
        groups += pair
        walks += pair_walks
        seen |= new


def _grouped(order: list[int], steps: int) -> list[list[int]]:
    """``order`` cut into ``steps`` consecutive groups of near-equal size."""
    bounds = [round(i * len(order) / steps) for i in range(steps + 1)]
    return [order[start:end] for start, end in itertools.pairwise(bounds)]


def _prefixes(grouping: list[list[int]]) -> list[int]:
    """The coalition after each group is added (the last: every word)."""
    masks, mask = [], 0
    for group in grouping:
        mask |= sum(1 << i for i in group)
        masks.append(mask)
    return masks


def _sampled(value: Mapping[int, float], groupings: list[list[list[int]]], walks: list[list[int]]) -> list[float]:
    """Each word's mean marginal effect over the walked orders; a group's effect is shared by its words."""
    n = sum(len(group) for group in groupings[0])
    totals = [0.0] * n
    for grouping, walk in zip(groupings, walks, strict=True):
        before = value[0]
        for group, mask in zip(grouping, walk, strict=True):
            for i in group:
                totals[i] += (value[mask] - before) / len(group)
            before = value[mask]
    return [total / len(groupings) for total in totals]


def _exact(value: Mapping[int, float], n: int) -> list[float]:
    """The exact Shapley values from every coalition: each marginal effect weighted by ``|S|! (n-|S|-1)! / n!``."""
    weight = [math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n) for size in range(n)]
    scores = [0.0] * n
    for mask, present in value.items():
        for i in range(n):
            if not mask >> i & 1:
                scores[i] += weight[mask.bit_count()] * (value[mask | 1 << i] - present)
    return scores
