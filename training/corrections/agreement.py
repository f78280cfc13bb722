"""How much the people who flag agree: Krippendorff's alpha over their votes, and how often they side with the model.

Alpha is the reliability figure of content analysis: 1 when every pair of people who voted on the same text
chose the same answer, 0 when they agree no more than answers drawn at random from all the votes would, and
below 0 when they disagree systematically. It is computed on the *nominal* level (two answers are equal or
not), over the texts that at least two clients voted on; each client counts once per text (their latest
vote). The merge passes only the votes that count (``training.corrections.merge.counted``: signed-in clients and
the owner, or every client with ``--trust-anonymous-votes``): made-up anonymous clients agreeing with each other
would otherwise lift alpha to 1 and hide a real disagreement. For a multi-label model an answer is a whole set of
labels, so ``{joy, love}`` and ``{joy}`` count as two different answers — the strict reading, the one that decides
whether a training text is relabelled.

Reading it (docs/corrections.md says more): alpha ≥ 0.8 is the usual bar for labels one may train on
without a second look; 0.67–0.8 is tentative; below that the people flagging disagree too much for their
majority to be trusted, and the owner's review (``python -m space.flags review``) should decide.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable


def krippendorff_alpha(units: Iterable[list[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data.

    Args:
        units: for each text, the answers of its coders (one per coder). Texts with fewer than two
            answers are not pairable and are left out, as the method prescribes.

    Returns:
        Alpha, or None when it is undefined: no text has two answers, or every answer is the same one
        (no variation to compare the observed agreement against).
    """
    coincidences: Counter = Counter()  # o_ck: pairs of answers (c, k) within a text, each weighted 1/(m - 1)
    for answers in units:
        m = len(answers)
        if m < 2:
            continue
        counts = Counter(answers)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                coincidences[c, k] += pairs / (m - 1)
    totals: Counter = Counter()  # n_c: how often each answer was paired
    for (c, _k), weight in coincidences.items():
        totals[c] += weight
    n = sum(totals.values())
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if n <= 1 or expected == 0:
        return None
    observed = sum(weight for (c, k), weight in coincidences.items() if c != k)
    return 1 - (n - 1) * observed / expected


def agreement_summary(units: list[list[Hashable]], with_model: list[bool]) -> dict:
    """The agreement figures of ``corrections.json``.

    Args:
        units: for each flagged text, its clients' latest answers.
        with_model: for each vote that carries the model's prediction, whether the answer equals it.

    Returns:
        ``texts`` (texts with at least two clients), ``alpha`` (rounded to 3 places, or None), ``votes`` (votes
        carrying the model's prediction) and ``agree_with_model`` (the share of them that chose it, or None).
    """
    alpha = krippendorff_alpha(units)
    return {
        "texts": sum(len(answers) >= 2 for answers in units),
        "alpha": None if alpha is None else round(alpha, 3),
        "votes": len(with_model),
        "agree_with_model": round(sum(with_model) / len(with_model), 3) if with_model else None,
    }
