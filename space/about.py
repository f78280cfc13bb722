"""What the page says about the model, read from the reports published with it (``backend.model_reports``):
the data it learnt from, how well it scored on held-out texts, whether its probabilities are calibrated, and a
warning when it is a demo model trained on the synthetic sample.

Each fact is left out when its report lacks it or holds it in an unexpected shape (``formats.reports`` reads such
a field as absent), so a model without reports, or with odd ones, still gets a (shorter) header.
"""

from __future__ import annotations

import formats.reports as run_reports
from formats.reports import Metrics, SplitScores, TrainConfig, read_metrics, read_train_config

DEMO_WARNING = (
    "⚠️ **This is a demo model.** It was trained on a small synthetic sample, not on real tweets: "
    "its answers do not mean anything yet."
)

# The figures of the header, in order: the evaluation's key -> the words the page shows.
SCORES = {"accuracy": "accuracy", "f1_macro": "macro-F1"}
MULTI_LABEL_SCORES = {"f1_macro": "macro-F1", "f1_micro": "micro-F1", "exact_match": "exact match"}


def facts_line(reports: dict[str, dict]) -> str:
    """One line of what the model is, in a visitor's words; empty when its reports say nothing. A fact whose
    field has an unexpected shape is left out (``formats.reports`` reads it as absent), never fatal."""
    metrics, train_config = read_metrics(reports.get("metrics")), read_train_config(reports.get("train_config"))
    parts = [learnt_from(metrics, train_config), scores(metrics), calibration(metrics)]
    return " · ".join(part for part in parts if part)


def is_demo_model(reports: dict[str, dict]) -> bool:
    """Whether the model was trained on the bundled synthetic sample (:func:`formats.reports.is_demo_model` on
    the training config)."""
    return run_reports.is_demo_model(read_train_config(reports.get("train_config")))


def learnt_from(metrics: Metrics, train_config: TrainConfig) -> str:
    """``Learnt from `dair-ai/emotion` (16,000 training texts)``, or empty when no report names the data."""
    source = train_config.data.source or metrics.data.source
    if not source:
        return ""
    train = (train_config.data.sizes or metrics.data.sizes).get("train")
    count = f" ({train:,} training texts)" if train is not None else ""
    return f"Learnt from {code(source)}{count}"


def scores(metrics: Metrics) -> str:
    """``Test accuracy 91.9%, macro-F1 87.0% (2,000 texts it never saw in training)`` — on the test split, else
    validation — or empty; a multi-label model's ``Test macro-F1 89.0%, micro-F1 90.4%, exact match 83.3% ...``."""
    split = metrics.headline_split
    result = metrics.eval.get(split) or SplitScores()
    # A multi-label model's accuracy is its exact match (every label of a text right), named as such; its
    # headline is macro-F1, then micro-F1.
    names = MULTI_LABEL_SCORES if metrics.multi_label else SCORES
    values = {name: result.figure(key) for key, name in names.items()}
    if all(value is None for value in values.values()):
        return ""
    figures = [f"{name} {percent(value)}" for name, value in values.items() if value is not None]
    size = metrics.data.sizes.get(split)
    held_out = f" on {size:,} texts it never saw in training" if size is not None else ""
    return f"{split.capitalize()} {', '.join(figures)}{held_out}"


def calibration(metrics: Metrics) -> str:
    """Whether the probabilities can be read as chances (the evaluation's ``calibration.applied``), or empty."""
    calibrated = metrics.calibration.applied if metrics.calibration else None
    if calibrated is True and metrics.multi_label:
        return "probabilities calibrated: a label shown at 80% is right about 8 times in 10"
    if calibrated is True:
        return "probabilities calibrated: an answer shown at 80% is right about 8 times in 10"
    if calibrated is False:
        return "probabilities not calibrated: read them as a ranking, not as chances"
    return ""


def percent(fraction: float) -> str:
    """``0.9185`` -> ``91.9%`` (rounded half up, as a person would: not 91.8% for a float just under 0.9185)."""
    return f"{100 * fraction + 1e-9:.1f}%"


def code(text: str) -> str:
    """``text`` as inline Markdown code, whatever backticks it holds (it is data from a file, never markup)."""
    text = " ".join(text.split())
    fence = "`" * (text.count("`") + 1)  # longer than any run of backticks inside
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"
