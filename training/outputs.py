"""The one writer of the output folder's JSON files and figures.

Every part of ``training`` that writes into an output folder (the pipeline, ``training.compare``,
``training.export``) goes through these, so that a file keeps its bytes whoever rewrites it: JSON
indented by 2 with non-ASCII text kept as is (a label or a tweet reads as written), figures at one DPI.
"""

from __future__ import annotations

import json
from pathlib import Path

FIGURE_DPI = 120


def write_json(path: Path, content: dict) -> None:
    """Write ``content`` as UTF-8 JSON, indented by 2, non-ASCII characters unescaped, ending in a newline."""
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_figure(figure, path: Path) -> None:
    """Save a matplotlib figure at ``FIGURE_DPI``, cropped to its content."""
    figure.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
