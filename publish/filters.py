"""The Jinja filters of the model card template: numbers as a reader wants them, untrusted text made safe.

``publish.card`` reads the output folder into the card's facts; these only format values for the page.
Text that comes from the data (tweets, labels, rejection reasons, paths) reaches the card only through
:func:`md_text` or :func:`code_cell`, so a tweet cannot break a table or inject HTML/markdown into the card.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

MAX_TEXT_CHARS = 280  # a tweet's length; longer texts are cut in the card's tables


def md_text(value: Any, limit: int | None = None) -> str:
    """Make untrusted text safe inside a markdown table cell or sentence.

    Newlines become spaces (a table row is one line), HTML is escaped (no tags reach the page) and
    markdown punctuation is backslash-escaped (no links, images, emphasis, code or column breaks).
    """
    text = " ".join(str(value).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False)
    for char in "\\`*_[]|~$#!":
        text = text.replace(char, "\\" + char)
    return text


def duration(seconds: float | None) -> str:
    """``1234.5`` -> ``"20 min 34 s"`` (training time as a reader wants it)."""
    if seconds is None:
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s" if minutes else f"{secs} s"


def pct(value: Any) -> str:
    """A 0–1 fraction as a percentage with two decimals; ``–`` when absent."""
    return "–" if value is None else f"{100 * float(value):.2f}"


def pp(delta: Any) -> str:
    """A difference of fractions in percentage points, signed."""
    return "–" if delta is None else f"{100 * float(delta):+.2f} pp"


def value_cell(value: Any) -> str:
    """A hyperparameter value for the table: JSON spelling (``null``, ``true``, ``2e-05``), escaped."""
    return md_text(json.dumps(value, ensure_ascii=False)) if not isinstance(value, str) else md_text(value)


def log_value(value: Any) -> str:
    """A training-log number: a whole float as an integer (epoch 1.0 -> 1), other floats with 4 decimals."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4f}"
    return md_text(value)


def code_cell(value: Any) -> str:
    """``value`` as an inline code span safe in a table: a fence longer than any backtick run inside, ``|`` escaped."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


# The names the template uses for them.
FILTERS = {
    "pct": pct,
    "pp": pp,
    "duration": duration,
    "value_cell": value_cell,
    "log_value": log_value,
    "code": code_cell,
    "md": md_text,
}


def escape_comparison(comparison: dict) -> dict:
    """comparison.json with its data-derived strings (labels, example texts) made card-safe (paths go in code spans)."""
    return {
        **comparison,
        "per_class_f1": {md_text(label): values for label, values in comparison.get("per_class_f1", {}).items()},
        "examples": [
            {key: md_text(value, MAX_TEXT_CHARS) for key, value in example.items()}
            for example in comparison.get("examples", [])
        ],
    }
