"""What the page says about the model, read from the reports published with it (``backend.model_reports``):
the data it learnt from, how well it scored on held-out texts, whether its probabilities are calibrated, and a
warning when it is a demo model trained on the synthetic sample.

Each fact is left out when its report lacks it, so a model without reports still gets a (shorter) header.
"""

from __future__ import annotations

from typing import Any

DEMO_WARNING = (
    "⚠️ **This is a demo model.** It was trained on a small synthetic sample, not on real tweets: "
    "its answers do not mean anything yet."
)

# The figures of the header, in order: the evaluation's key -> the words the page shows.
SCORES = {"accuracy": "accuracy", "f1_macro": "macro-F1"}
MULTI_LABEL_SCORES = {"f1_macro": "macro-F1", "f1_micro": "micro-F1", "exact_match": "exact match"}


def facts_line(reports: dict[str, dict]) -> str:
    """One line of what the model is, in a visitor's words; empty when its reports say nothing."""
    metrics, train_config = reports.get("metrics") or {}, reports.get("train_config") or {}
    parts = [learnt_from(metrics, train_config), scores(metrics), calibration(metrics)]
    return " · ".join(part for part in parts if part)


def is_demo_model(reports: dict[str, dict]) -> bool:
    """Whether the model was trained on the bundled synthetic sample (the training config's ``data.synthetic_sample``,
    or ``data.fallback`` of older runs)."""
    data = (reports.get("train_config") or {}).get("data") or {}
    return bool(data.get("synthetic_sample") or data.get("fallback"))


def learnt_from(metrics: dict, train_config: dict) -> str:
    """``Learnt from `dair-ai/emotion` (16,000 training texts)``, or empty when no report names the data."""
    data = train_config.get("data") or {}
    source = data.get("source") or (metrics.get("data") or {}).get("source")
    if not source:
        return ""
    sizes = data.get("sizes") or (metrics.get("data") or {}).get("sizes") or {}
    train = sizes.get("train")
    count = f" ({train:,} training texts)" if isinstance(train, int) else ""
    return f"Learnt from {code(str(source))}{count}"


def scores(metrics: dict) -> str:
    """``Test accuracy 91.9%, macro-F1 87.0% (2,000 texts it never saw in training)`` — on the test split, else
    validation — or empty; a multi-label model's ``Test macro-F1 89.0%, micro-F1 90.4%, exact match 83.3% ...``."""
    evals = metrics.get("eval") or {}
    split = "test" if "test" in evals else "validation"
    result = evals.get(split) or {}
    # A multi-label model's accuracy is its exact match (every label of a text right), named as such; its
    # headline is macro-F1, then micro-F1.
    names = MULTI_LABEL_SCORES if is_multi_label(metrics) else SCORES
    values = {name: number(result.get(key)) for key, name in names.items()}
    if all(value is None for value in values.values()):
        return ""
    figures = [f"{name} {percent(value)}" for name, value in values.items() if value is not None]
    size = ((metrics.get("data") or {}).get("sizes") or {}).get(split)
    held_out = f" on {size:,} texts it never saw in training" if isinstance(size, int) else ""
    return f"{split.capitalize()} {', '.join(figures)}{held_out}"


def calibration(metrics: dict) -> str:
    """Whether the probabilities can be read as chances (the evaluation's ``calibration.applied``), or empty."""
    calibrated = (metrics.get("calibration") or {}).get("applied")
    if calibrated is True and is_multi_label(metrics):
        return "probabilities calibrated: a label shown at 80% is right about 8 times in 10"
    if calibrated is True:
        return "probabilities calibrated: an answer shown at 80% is right about 8 times in 10"
    if calibrated is False:
        return "probabilities not calibrated: read them as a ranking, not as chances"
    return ""


def is_multi_label(metrics: dict) -> bool:
    """Whether the evaluation is of a multi-label model (the evaluation's ``task``: ``multi-label``)."""
    return str(metrics.get("task", "")).replace("_", "-") == "multi-label"


def number(value: Any) -> float | None:
    """``value`` when it is a number (not a bool), else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def percent(fraction: float) -> str:
    """``0.9185`` -> ``91.9%`` (rounded half up, as a person would: not 91.8% for a float just under 0.9185)."""
    return f"{100 * fraction + 1e-9:.1f}%"


def code(text: str) -> str:
    """``text`` as inline Markdown code, whatever backticks it holds (it is data from a file, never markup)."""
    text = " ".join(text.split())
    fence = "`" * (text.count("`") + 1)  # longer than any run of backticks inside
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"
