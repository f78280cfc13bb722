"""The flag record: what the Space stores for each flagged text, and how its cells are written and read back.

The Space writes records (``space/flags.py``), ``python -m space.flags export`` and ``review`` write them as
CSV, and ``python -m training --corrections`` reads them all back (``training/corrections/records.py``). The
fields, the rules for a spreadsheet cell and for a set of labels in one cell, and how a flag is matched to a
training text have their one home here (docs/corrections.md describes the record).
"""

from __future__ import annotations

import re
import unicodedata

# --- The record ---------------------------------------------------------------------------------------
# Every record has these, in this order (old records too).
REQUIRED = ("id", "time", "text", "predicted_label", "scores", "corrected_label", "note", "model", "model_revision")
CLIENT_FIELD = "client"  # optional: records written before it existed lack it
SET_FIELDS = ("predicted_labels", "corrected_labels")  # optional: a multi-label model's records only (lists)
FIELDS = (*REQUIRED, CLIENT_FIELD, *SET_FIELDS)


def is_set_record(record: dict) -> bool:
    """Whether ``record`` is a multi-label flag (it carries ``corrected_labels``)."""
    return record.get("corrected_labels") is not None


def text_key(text: str) -> str:
    """How a flag is matched to a text: Unicode NFC, whitespace stripped and collapsed, case-folded."""
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


# --- A set of labels in one cell ----------------------------------------------------------------------
SET_SEPARATOR = ";"  # what joins a set of label names in one cell written (errors.csv, predict's CSV, flags)
SET_SEPARATORS = (SET_SEPARATOR, ",")  # and what splits one read (people type commas): no label name may hold one
_SEPARATORS = re.compile("|".join(map(re.escape, SET_SEPARATORS)))


def set_cell(labels) -> str:
    """A set of labels in one cell: ``joy;love``; the empty set is the empty cell."""
    return SET_SEPARATOR.join(labels)


def parse_set(cell: str) -> list[str]:
    """``"joy; love"`` or ``"joy,love"`` -> ``["joy", "love"]``; ``""`` -> ``[]``."""
    return [name.strip() for name in _SEPARATORS.split(cell) if name.strip()]


# --- A cell a spreadsheet opens -----------------------------------------------------------------------
# A CSV cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Shown escaped in what a person opens: control characters but tab, newline and carriage return (NUL, ANSI
# escapes \x1b[..., DEL, C1), and the bidi marks, embeddings, overrides and isolates (U+202E writes the rest of
# a line backwards). The records keep them as sent.
HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ESCAPED_HIDDEN = re.compile(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})")


def shown_escaped(text: str) -> str:
    """``text`` with its control and bidi characters (:data:`HIDDEN`) written as ``\\x1b``, ``\\u202e``: what a
    person reading a sheet sees, instead of a terminal or spreadsheet obeying them."""
    return HIDDEN.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def csv_cell(value):
    """``value`` made safe for a spreadsheet: control and bidi characters escaped (:func:`shown_escaped`), and a
    leading apostrophe before a formula start; anything but a string is returned as it is.

    Text that already starts with apostrophes before a formula start gets one more, so that
    :func:`from_csv_cell` can always take exactly one off.
    """
    if not isinstance(value, str):
        return value
    value = shown_escaped(value)
    return "'" + value if is_formula_like(value) else value


def is_formula_like(value: str) -> bool:
    """Whether a cell, once any leading apostrophes are set aside, starts like a formula."""
    return value.lstrip("'").startswith(FORMULA_START)


def from_csv_cell(value: str) -> str:
    """A cell written by :func:`csv_cell` as it was sent: without the apostrophe before a formula start, and with
    the characters shown escaped put back (only those: a typed ``\\u0041`` stays as it is)."""
    value = value[1:] if value.startswith("'") and is_formula_like(value) else value
    return _ESCAPED_HIDDEN.sub(_unescaped, value)


def _unescaped(match: re.Match) -> str:
    char = chr(int(match[1] or match[2], 16))
    return char if HIDDEN.fullmatch(char) else match[0]
