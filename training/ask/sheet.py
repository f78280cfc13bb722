"""The review sheet ``training.ask`` writes: one row per chosen text, in the order to label them.

Columns, exactly :data:`COLUMNS`:

- ``rank``: 1 to N, the labelling order;
- ``id``: the POOL row's ``--id-column`` value, else its row number (from 0, as ``training.predict`` numbers rows);
- ``text``: the text;
- ``suggested``: what the model thinks, ``joy 0.41 | sadness 0.38 | fear 0.09`` (its three most probable
  classes; for a multi-label model the three labels nearest their thresholds);
- ``uncertainty``: the strategy's score (higher: less sure), 4 decimals; empty when no model was used (a first
  sheet chosen by a base encoder);
- ``label``: empty, for the person labelling (with ``--simulate``: POOL's gold label).

A ``.csv`` sheet's text cells follow the rule of the Space's review sheet and flag export
(``formats.flag_record.csv_cell``): control and bidi characters are shown escaped (``\u202e``, which would write
the rest of a line backwards in a spreadsheet), and a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR
after any apostrophes gets one more leading apostrophe. The corrections reader (``from_csv_cell``) turns both back,
so a filled sheet's texts match the pool's. A ``.jsonl`` sheet has the same fields, texts as read, ``label`` null.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from formats.flag_record import csv_cell
from training.corrections.records import QUEUE_COLUMN
from training.errors import ToolkitError
from training.predict.parts import atomic

# QUEUE_COLUMN ("uncertainty") is how `python -m training --corrections` tells this sheet from other CSVs.
COLUMNS = ("rank", "id", "text", "suggested", QUEUE_COLUMN, "label")
FORMATS = (".csv", ".jsonl")


def sheet_format(out: Path, prefix: str = "ask error") -> str:
    """The format of ``--output`` from its extension, or a one-line error starting with ``prefix`` (also for a
    folder)."""
    if out.is_dir():
        raise ToolkitError(f"{prefix}: --output {out}: is a folder — expected a file name ending in .csv or .jsonl")
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ToolkitError(f"{prefix}: --output {out}: unsupported extension '{suffix}' — expected .csv or .jsonl")
    return suffix


def write_sheet(out: Path, rows: list[dict], columns: tuple[str, ...] = COLUMNS, score: str = QUEUE_COLUMN) -> None:
    """Write ``rows`` (dicts with ``columns``, in rank order) to ``out``, atomically.

    Args:
        out: the sheet, ``.csv`` or ``.jsonl``.
        rows: its rows, each a dict with every name of ``columns``.
        columns: the sheet's columns in order (``training.audit`` writes its own).
        score: the one number column besides ``rank``, rounded to 4 decimals (every other one is a text cell).

    ``label`` None is an empty cell in CSV and null in JSON lines.
    """
    rows = [{**row, score: rounded(row[score])} for row in rows]
    with atomic(out) as tmp:
        if sheet_format(out) == ".jsonl":
            with open(tmp, "w", encoding="utf-8") as file:
                for row in rows:
                    file.write(json.dumps({key: row[key] for key in columns}, ensure_ascii=False) + "\n")
        else:
            cells = {
                key: pa.array([csv_cell(as_cell(row[key])) for row in rows], type=pa.string())
                for key in columns
                if key not in ("rank", score)
            }
            cells["rank"] = pa.array([row["rank"] for row in rows], type=pa.int64())
            cells[score] = pa.array([row[score] for row in rows], type=pa.float64())
            table = pa.table({key: cells[key] for key in columns})
            table.to_pandas().to_csv(tmp, index=False, float_format="%.4f")


def rounded(score) -> float | None:
    """The score cell: 4 decimals, or None (empty, null) for a sheet chosen with no model."""
    return None if score is None else round(float(score), 4)


def as_cell(value) -> str | None:
    """A CSV cell's text: None stays empty, a list of labels is written ``a,b``, anything else as text."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)
