"""Read the flag records that ``--corrections`` merges: the Space's flags, hand-made files, review sheets.

Inputs: a flag folder (the Space's ``FLAG_DIR``, or one made by ``python -m space.flags pull``), a
``.jsonl`` or a ``.csv`` (``python -m space.flags export``, a file written by hand, or a review sheet of
``python -m space.flags review``).

- A record from the Space keeps every field as written.
- A multi-label model's record (the Space, DESIGN.md) has ``predicted_label`` and ``corrected_label`` null and
  gives its sets as lists in ``predicted_labels`` and ``corrected_labels`` (possibly empty: "none of these").
  In a CSV those are one cell each, ``;``-separated, and the empty cell of ``corrected_labels`` is the empty set.
- A record written by hand needs only ``text`` and ``corrected_label`` (or ``label``; for multi-label data
  ``labels`` also works, ``joy,love``; ``training.corrections.votes`` reads the answer). With no ``id``,
  it gets a stable one from its text and label; with no ``time``, ``time`` is None and the file order
  breaks ties. A record with no ``id`` and no ``client`` is the model owner's own correction
  (``client`` = ``owner``): the merge applies it without the vote thresholds meant for strangers.
- A CSV with an ``accept`` column is a review sheet: each row gets ``accept`` True or False (``y``,
  ``yes``, ``x``, ``1``, ``true`` accept; empty, ``n``, ``no``, ``0``, ``false`` do not), and the
  merge uses only the accepted rows.
- A CSV with an ``uncertainty`` column (a JSON line with that key) is a sheet of ``python -m training.ask``: its rows
  are the owner's answers (client ``owner``, ``origin`` ``queue``), keyed by text and answer; a row whose
  ``label`` is left blank is kept, to be skipped and counted by the merge.
- A CSV with a ``label_quality`` column (a JSON line with that key) is a sheet of ``python -m training.audit``: its
  rows are the owner's decisions on texts of the data (client ``owner``, ``origin`` ``audit``): a label, ``keep`` or
  ``drop`` (``training.corrections.audit`` applies them).
- A CSV cell that the export prefixed with an apostrophe against spreadsheet formulas is read back
  without it.
- A CSV is read by the data files' rule (``training.data.readers.DelimitedRows``): a row with more or fewer
  fields than the header (``i love this,joy,love`` under ``text,labels``) stops with one line naming the file,
  the line and the quoting fix, never cut to the header's width.

A broken record (not JSON, not an object, a missing or mistyped field) stops with a ``ToolkitError``
naming file and line: the store is written by the Space, so damage there is worth a look before
training. Only a final line without its trailing newline is skipped (with a warning): that is a write
cut off by a crash, never confirmed to the user.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

from formats.flag_record import FIELDS, from_csv_cell, parse_set
from training.data.readers import DelimitedRows
from training.errors import ToolkitError

log = logging.getLogger(__name__)

REQUIRED = ("text", "corrected_label")  # the rest is carried along, or derived when written by hand
SPELLINGS = {"label": "corrected_label", "labels": "corrected_labels"}  # a hand-made file's names of the answer
PREFIX = "corrections error"  # how this reader's messages start
OWNER = "owner"  # the client of a hand-made record
QUEUE = "queue"  # the origin of a training.ask sheet's rows
QUEUE_COLUMN = "uncertainty"  # the column that only a training.ask sheet has
AUDIT = "audit"  # the origin of a training.audit sheet's rows
AUDIT_COLUMN = "label_quality"  # the column that only a training.audit sheet has
ACCEPT = {"y": True, "yes": True, "x": True, "1": True, "true": True, "": False, "n": False, "no": False}
ACCEPT.update({"0": False, "false": False})


def load_flag_records(path: str | Path) -> list[dict]:
    """Read flag records from a flag folder, a ``.jsonl`` file or a ``.csv`` file.

    A folder is read as the Space's flag store: its ``*.jsonl`` files plus ``data/*.jsonl`` (the
    layout of a Hub dataset repo fetched by ``python -m space.flags pull``), in name order.

    Args:
        path: the folder or file.

    Returns:
        The records in reading order, each with ``id, time, text, corrected_label`` (hand-made ones
        completed as the module docstring says; CSV ``scores`` decoded from its JSON string).
        Duplicate ids are kept here; the merge counts them once.

    Raises:
        ToolkitError: the path is missing or of another kind, or a record is broken (the message
            names file and line).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl")) + sorted(path.glob("data/*.jsonl"))
        if not files:
            raise ToolkitError(f"corrections error: {path}: no flag files (*.jsonl or data/*.jsonl) in this folder")
        return [record for file in files for record in _read_flags_jsonl(file)]
    if not path.exists():
        raise ToolkitError(
            f"corrections error: {path}: no such file or folder — expected a flag folder, a .jsonl or a .csv"
        )
    if path.suffix == ".jsonl":
        return _read_flags_jsonl(path)
    if path.suffix == ".csv":
        return _read_flags_csv(path)
    raise ToolkitError(f"corrections error: {path}: unsupported file type — expected a flag folder, a .jsonl or a .csv")


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    try:  # decoded from bytes: read_text would turn a \r inside a quoted CSV cell into \n
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as e:
        raise ToolkitError(f"corrections error: {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _read_flags_jsonl(path: Path) -> list[dict]:
    """The records of one JSON-lines file (an unterminated last line is ignored with a warning)."""
    lines = _read_text(path).split("\n")
    # split() leaves "" after a final newline; anything else there is a line the writer never finished.
    if lines[-1]:
        log.warning(
            "corrections: %s line %d has no trailing newline (a write cut off by a crash?): ignored", path, len(lines)
        )
    records = []
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ToolkitError(
                f"corrections error: {path} line {number}: not valid JSON ({e.msg}) — expected one flag record per line"
            ) from None
        records.append(check_record(record, f"{path} line {number}"))
    return records


def _read_flags_csv(path: Path) -> list[dict]:
    """The records of a CSV: an export, a hand-made file, or a review sheet (``accept`` column)."""
    # newline="" as the csv docs ask: a quoted text may hold line breaks; utf-8-sig drops a spreadsheet's BOM.
    # The data readers' rule: a row with more fields than the header (an unquoted "joy,love") is refused.
    table = DelimitedRows(io.StringIO(_read_text(path, "utf-8-sig"), newline=""), str(path), prefix=PREFIX)
    columns = set(table.header)
    answers = {"corrected_label", "corrected_labels", *SPELLINGS}
    missing = [f for f in REQUIRED if f not in columns and not (f == "corrected_label" and answers & columns)]
    if missing:
        raise ToolkitError(
            f"corrections error: {path} line 1: header lacks column(s) {', '.join(missing)} "
            f"— expected at least text,corrected_label (or the export's {','.join(FIELDS)})"
        )
    records = []
    for row, where in table.records():
        record = {k: from_csv_cell(v) for k, v in row.items()}
        if "model_revision" in record:  # CSV has no null: the export writes None as an empty cell
            record["model_revision"] = record["model_revision"] or None
        if "client" in record:
            record["client"] = record["client"] or None
        record = with_label_sets(record)
        if record.get("scores"):
            try:
                record["scores"] = json.loads(record["scores"])
            except json.JSONDecodeError:
                raise ToolkitError(f"corrections error: {where}: field 'scores' is not a JSON object string") from None
        if "accept" in record:
            record["accept"] = _accepted(record["accept"], where)
        records.append(check_record(record, where))
    return records


def with_label_sets(record: dict) -> dict:
    """A CSV row of the export or review sheet with its sets as lists: a multi-label row (its ``corrected_label``
    cell empty) reads an empty ``corrected_labels`` cell as the empty set; a single-label row drops the columns."""
    if "corrected_labels" not in record or record.get("corrected_label"):
        return {k: v for k, v in record.items() if k not in ("predicted_labels", "corrected_labels") or v}
    sets = {
        field: parse_set(record[field]) if record.get(field) else []
        for field in ("predicted_labels", "corrected_labels")
    }
    return {**record, **sets, "corrected_label": None, "predicted_label": record.get("predicted_label") or None}


def _accepted(value: str, where: str) -> bool:
    try:
        return ACCEPT[value.strip().lower()]
    except KeyError:
        raise ToolkitError(
            f"corrections error: {where}: field 'accept' is {value!r} — expected y/yes/x/1/true to accept, "
            "or empty/n/no/0/false"
        ) from None


def check_record(record, where: str) -> dict:
    """Return ``record`` with the fields the merge needs, checked and completed (module docstring), else raise."""
    if not isinstance(record, dict):
        raise ToolkitError(
            f"corrections error: {where}: expected a JSON object (a flag record), got {type(record).__name__}"
        )
    record = with_answer_fields(record)
    for field in REQUIRED:
        if field not in record:
            raise ToolkitError(
                f"corrections error: {where}: missing field '{field}' — a flag record needs at least "
                "text and corrected_label (or label, or labels for a multi-label model)"
            )
    check_types(record, where)
    if record.get("origin") in (QUEUE, AUDIT):
        record = {**record, "id": derived_id(record, f"{record['origin']}-"), "time": None}
    elif "id" not in record:
        record = {"id": derived_id(record), **record, "client": record.get("client") or OWNER}
    if not isinstance(record["id"], str) or not record["id"]:
        raise ToolkitError(f"corrections error: {where}: field 'id' must be a non-empty string")
    if record.get("time") in (None, ""):
        record = {**record, "time": None}
    else:
        try:
            parse_time(record["time"])
        except (TypeError, ValueError):
            raise ToolkitError(
                f"corrections error: {where}: field 'time' {record['time']!r} is not an ISO 8601 timestamp"
            ) from None
    return record


def with_answer_fields(record: dict) -> dict:
    """``record`` with its answer where the merge reads it: a hand-made file's ``label``/``labels``, a set given as
    ``label`` (a JSON-lines sheet), and a training.ask sheet's rows marked as the owner's."""
    if QUEUE_COLUMN in record:  # a row of a training.ask sheet (CSV or JSON lines): the owner's answer
        record = {**record, "origin": QUEUE, "client": OWNER}
    elif AUDIT_COLUMN in record:  # a row of a training.audit sheet: the owner's decision on a text of the data
        record = {**record, "origin": AUDIT, "client": OWNER}
    for spelling, field in SPELLINGS.items():
        if field not in record and spelling in record:
            record = {**record, field: record[spelling]}
    if isinstance(record.get("corrected_label"), list):
        record = {**record, "corrected_labels": record["corrected_label"], "corrected_label": None}
    if "corrected_label" not in record and "corrected_labels" in record:
        record = {**record, "corrected_label": None}
    return record


def check_types(record: dict, where: str) -> None:
    """Raise when ``text`` or the answer has the wrong type (JSON lines can hold anything)."""
    if not isinstance(record["text"], str):
        raise ToolkitError(f"corrections error: {where}: field 'text' must be a string")
    if record["corrected_label"] is not None and not isinstance(record["corrected_label"], str):
        raise ToolkitError(f"corrections error: {where}: field 'corrected_label' must be a label name (string)")
    for field in ("corrected_labels", "predicted_labels"):
        value = record.get(field)
        if not (value is None or isinstance(value, str) or is_list_of_names(value)):
            raise ToolkitError(
                f"corrections error: {where}: field '{field}' must be a list of label names (or 'joy,love' text)"
            )


def is_list_of_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def derived_id(record: dict, prefix: str = "hand-") -> str:
    """A stable id for a record without one: the same text and answer always get the same id."""
    answer = record["corrected_label"] if record.get("corrected_labels") is None else record["corrected_labels"]
    key = f"{record['text']}\n{answer}".encode()
    return prefix + hashlib.sha256(key).hexdigest()[:16]


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` allowed); a naive one is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
