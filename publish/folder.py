"""Reading the files of an output folder for the card, each failure one line naming the file and field."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, TypeVar

from formats.explain import ERRORS_COLUMN
from formats.output_folder import METRICS_FILE
from formats.reports import Metrics, SplitScores
from publish.errors import PublishError
from publish.filters import md_text

T = TypeVar("T")
SHOWN_CHARS = 40  # of a malformed value, in an error message
# The figures of every split that the card cannot do without (the results table, the model-index).
REQUIRED_FIGURES = ("accuracy", "f1_macro", "f1_weighted")


def read_json(path: Path) -> dict:
    """Read a JSON object from one of the output folder's files, or raise a one-line PublishError."""
    if not path.is_file():
        raise PublishError(f"publish error: {path}: file not found — is this an output folder of `python -m training`?")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PublishError(f"publish error: {path}: not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise PublishError(f"publish error: {path}: expected a JSON object")
    return value


def read_optional_json(path: Path) -> dict | None:
    """Like :func:`read_json` for a file training writes only sometimes: None when it is absent."""
    return read_json(path) if path.is_file() else None


def require(mapping: dict, dotted: str, path: Path) -> Any:
    """``mapping["a"]["b"]`` for ``dotted="a.b"``, or a PublishError naming the file and field."""
    value: Any = mapping
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise PublishError(
                f"publish error: {path}: field '{dotted}' missing — expected the {METRICS_FILE} that "
                "`python -m training` writes (docs/output_folder.md)"
            )
        value = value[key]
    return value


def required(value: T | None, mapping: dict, dotted: str, path: Path, expected: str) -> T:
    """``value``, a field that a typed reader (``formats.reports``) read from ``mapping`` at ``dotted``, or a
    PublishError naming the file and field: missing (:func:`require`'s words), or what it holds instead of
    ``expected`` (the readers give None for a field of another shape)."""
    if value is not None:
        return value
    held = json.dumps(require(mapping, dotted, path), ensure_ascii=False)
    held = held if len(held) <= SHOWN_CHARS else held[: SHOWN_CHARS - 1] + "…"
    raise PublishError(f"publish error: {path}: field '{dotted}' is {held} — expected {expected}")


def required_eval(metrics: Metrics, raw: dict, path: Path) -> dict[str, SplitScores]:
    """``eval`` with the figures the card cannot do without in every split, or a one-line PublishError."""
    held = require(raw, "eval", path)
    if not isinstance(held, dict):
        required(None, raw, "eval", path, "an object of splits (validation and/or test)")
    if not held:
        raise PublishError(f"publish error: {path}: field 'eval' is empty — expected validation and/or test")
    for split, scores in metrics.eval.items():
        where = path / f"eval.{split}"
        for key in REQUIRED_FIGURES:
            required(scores.figure(key), held[split], key, where, "a number from 0 to 1")
        required(scores.per_class or None, held[split], "per_class", where, "an object of per-class scores")
    return metrics.eval


def read_errors(path: Path, limit: int, max_chars: int) -> list[dict[str, str]]:
    """The ``limit`` highest-loss rows of errors.csv, escaped for the card (texts cut at ``max_chars``), with the
    words that pushed toward a wrong prediction (``formats.explain.ERRORS_COLUMN``)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"index", "text", "label", "predicted", "loss"} - set(rows[0] if rows else {})
    if rows and missing:
        raise PublishError(
            f"publish error: {path}: column(s) {', '.join(sorted(missing))} missing — "
            "expected index,text,label,predicted,loss"
        )
    try:
        rows.sort(key=lambda row: float(row["loss"]), reverse=True)
    except ValueError as err:
        raise PublishError(f"publish error: {path}: column 'loss' must be numbers ({err})") from None
    return [
        {
            "index": md_text(row["index"]),
            "text": md_text(row["text"], max_chars),
            "label": md_text(row["label"]),
            "predicted": md_text(row["predicted"]),
            "loss": f"{float(row['loss']):.2f}",
            "words": md_text(row.get(ERRORS_COLUMN) or ""),  # a run from before the column: none
        }
        for row in rows[:limit]
    ]
