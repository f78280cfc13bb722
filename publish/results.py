"""The card's results table: the fine-tuned model beside its baselines, the best value of each figure in bold,
and one sentence naming each baseline that is as good as the fine-tuned model or better, and where.

Pure: ``publish.card`` reads the figures (``formats.reports``) and hands them here; the template lays out the
rows (``templates/results_table.md``). Values are compared as the table shows them (percentages with two
decimals), so that two cells that read the same are equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from formats.reports import Metrics, SplitScores
from publish.filters import pct

BASELINES = {
    "logistic_regression": "Logistic regression (frozen embeddings)",
    "dummy": "Majority class (DummyClassifier)",
}
EVAL_METRICS_MULTI_LABEL = [  # the same for a multi-label model (at its tuned thresholds)
    ("f1_macro", "f1", "F1 (macro)", {"average": "macro"}),
    ("f1_micro", "f1", "F1 (micro)", {"average": "micro"}),
    ("f1_samples", "f1", "F1 (samples)", {"average": "samples"}),
    ("exact_match", "accuracy", "Exact match (subset accuracy)", None),
]
EVAL_METRICS = [  # (metrics.json key, model-index metric type, display name, metric args)
    ("accuracy", "accuracy", "Accuracy", None),
    ("f1_macro", "f1", "F1 (macro)", {"average": "macro"}),
    ("f1_weighted", "f1", "F1 (weighted)", {"average": "weighted"}),
]
# A figure of the results table in words: its column headers, and the sentence on the baselines.
RESULT_WORDS = {
    "accuracy": "accuracy",
    "f1_macro": "macro F1",
    "f1_weighted": "weighted F1",
    "f1_micro": "micro F1",
    "f1_samples": "samples F1",
    "exact_match": "exact match",
}


@dataclass(frozen=True)
class ResultRow:
    """One row of the card's results table: a model, and its figures as the table shows them."""

    name: str  # markdown
    cells: list[str]  # one per column of :func:`result_columns`: a percentage, bold when the best; – when absent


def result_columns(facts_eval: dict[str, SplitScores], multi_label: bool) -> list[tuple[str, str]]:
    """The results table's columns, (split, metrics.json key): the model-index's figures of each split."""
    keys = [key for key, *_ in (EVAL_METRICS_MULTI_LABEL if multi_label else EVAL_METRICS)]
    return [(split, key) for split in facts_eval for key in keys]


def shown(value: float | None) -> float | None:
    """A figure as the card shows it (a percentage with two decimals), so that equal-looking values are equal."""
    return None if value is None else float(pct(value))


def result_rows(named: list[tuple[str, dict[str, SplitScores]]], columns: list[tuple[str, str]]) -> list[ResultRow]:
    """The results table's rows, each column's best value in bold (every row that reaches it, ties included)."""
    values = [[shown(splits.get(split, SplitScores()).figure(key)) for split, key in columns] for _, splits in named]
    best = [max((v for v in column if v is not None), default=None) for column in zip(*values, strict=True)]
    return [
        ResultRow(
            name, [bold_if(value, value is not None and value == top) for value, top in zip(row, best, strict=True)]
        )
        for (name, _), row in zip(named, values, strict=True)
    ]


def bold_if(value: float | None, bold: bool) -> str:
    """A table cell: the percentage (– when absent), in bold when ``bold``."""
    cell = pct(None if value is None else value / 100)
    return f"**{cell}**" if bold else cell


def baseline_note(facts_eval: dict[str, SplitScores], baselines: dict, columns: list[tuple[str, str]]) -> str:
    """One sentence naming, per baseline, the figures where it is as good as the fine-tuned model or better
    (as the table shows them); "" when the fine-tuned model is ahead everywhere."""
    parts = []
    for name, title in BASELINES.items():
        level = not_beaten(facts_eval, baselines.get(name, {}), columns)
        if level:
            parts.append(f"{title} {'on' if parts else 'scores as high or higher on'} {where_in_words(level)}")
    return f"The fine-tuned model does not beat every baseline: {', and '.join(parts)}." if parts else ""


def not_beaten(
    facts_eval: dict[str, SplitScores], baseline: dict[str, SplitScores], columns: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The columns where ``baseline`` is as good as the fine-tuned model or better, as the table shows them."""
    result = []
    for split, key in columns:
        mine, theirs = shown(facts_eval[split].figure(key)), shown(baseline.get(split, SplitScores()).figure(key))
        if mine is not None and theirs is not None and theirs >= mine:
            result.append((split, key))
    return result


def where_in_words(columns: list[tuple[str, str]]) -> str:
    """``[("test", "f1_micro"), ("test", "exact_match")]`` -> ``micro F1 and exact match (test split)``."""
    splits_of: dict[str, list[str]] = {}
    for split, key in columns:
        splits_of.setdefault(key, []).append(split)
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, splits in splits_of.items():
        groups.setdefault(tuple(splits), []).append(RESULT_WORDS[key])
    return words_list(
        [
            f"{words_list(metrics)} ({words_list(list(splits))} split{'s' if len(splits) > 1 else ''})"
            for splits, metrics in groups.items()
        ]
    )


def words_list(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def named_results(name: str, metrics: Metrics) -> list[tuple[str, dict[str, SplitScores]]]:
    """The rows of the results table, each a name and its figures per split: the fine-tuned model (a
    multi-label one also at 0.5, the untuned operating point), then each baseline the run has."""
    rows = [(f"**{name} (fine-tuned)**", metrics.eval)]
    if metrics.multi_label:
        at_0_5 = {split: scores.at_0_5 for split, scores in metrics.eval.items() if scores.at_0_5 is not None}
        rows.append((f"{name} at 0.5", at_0_5))
    return rows + [(title, metrics.baselines[key]) for key, title in BASELINES.items() if key in metrics.baselines]
