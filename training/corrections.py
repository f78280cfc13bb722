"""Merge flags from the Space (users' corrected labels) into the training split.

``python -m training --corrections X`` reads flag records from X — a flag folder (the Space's
``FLAG_DIR``, or a folder made by ``python -m space.flags pull``), a ``.jsonl`` or a ``.csv`` made by
``python -m space.flags export`` — and applies them to the training split only, by these rules:

1. Only a flag whose ``corrected_label`` is a class of the dataset is used; any other flag, and a
   flag with empty text, is rejected with its reason. A flag id seen twice (the same file read from
   a local store and from a pulled copy, say) counts once.
2. Flags are matched to texts on a key: Unicode NFC, whitespace stripped and collapsed to single
   spaces, and case-folded. Case-folded because the same tweet pasted with its original capitals
   must find its lower-cased copy in dair-ai/emotion (whose texts are all lower case), and the
   emotion of a text does not depend on its capitals; an uncased backbone (the default) sees no
   difference anyway.
3. Several flags on the same text are resolved by majority of ``corrected_label``; a tie goes to
   the label with the latest flag (``time``, ISO 8601). The losing flags are rejected ("outvoted").
   The dataset's own label is not a vote: a flag is a correction of it.
4. A text that is in the training split gets the winning label (every row with that text).
5. A new text is added to the training split — never to validation or test, so that runs before
   and after corrections are evaluated on the same data. A new text that is in validation or test
   (``held_out_texts``) is rejected: adding it to training would leak evaluation data. A text
   that is already in training *and* in test (dair-ai/emotion has such duplicates) is still
   relabelled: training already holds it, so no new leak is made, and test stays untouched.

The summary (saved by the CLI as ``corrections.json``) counts ``flags_read`` (distinct ids),
``used`` (flags whose label was applied or agreed with the data), ``relabelled`` (training rows
whose label changed), ``unchanged`` (rows whose label already was the winning one), ``added``
(new training rows), ``rejected`` with ``rejections`` ``[{id, text, reason}]``,
``conflicts_resolved`` (texts whose flags disagreed) and ``duplicates`` (repeated ids ignored);
``flags_read == used + rejected``.

A broken record (not JSON, not an object, a missing or mistyped field) stops with a
``ToolkitError`` naming file and line: the store is written by the Space, so damage there is
worth a look before training. Only a final line without its trailing newline is skipped (with a
warning): that is a write cut off by a crash, never confirmed to the user.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import unicodedata
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from training.errors import ToolkitError
from training.paths import portable_name

log = logging.getLogger(__name__)

# Twin of space/flags.py FIELDS (the parts may not import each other): change both together. The guard is
# tests/training/test_corrections.py::test_reads_what_the_space_flag_store_writes_and_exports.
FIELDS = ("id", "time", "text", "predicted_label", "scores", "corrected_label", "note", "model", "model_revision")
# The fields the merge needs; the others are carried along untouched and may be absent.
REQUIRED = ("id", "time", "text", "corrected_label")
HELD_OUT_REASON = "text is in the test/validation split (adding it to training would leak evaluation data)"


# ----------------------------------------------------------------------------- reading


def load_flag_records(path: str | Path) -> list[dict]:
    """Read flag records from a flag folder, a ``.jsonl`` file or a ``.csv`` file.

    A folder is read as the Space's flag store: its ``*.jsonl`` files plus ``data/*.jsonl`` (the
    layout of a Hub dataset repo fetched by ``python -m space.flags pull``), in name order.

    Args:
        path: the folder or file.

    Returns:
        The records in reading order, as dicts with at least ``id, time, text, corrected_label``
        (CSV ``scores`` decoded from its JSON string). Duplicate ids are kept here; the merge
        counts them once.

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
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as e:
        raise ToolkitError(f"corrections error: {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _read_flags_jsonl(path: Path) -> list[dict]:
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
        records.append(_check_record(record, f"{path} line {number}"))
    return records


def _read_flags_csv(path: Path) -> list[dict]:
    # newline="" as the csv docs ask: a quoted text may hold line breaks; utf-8-sig drops a spreadsheet's BOM.
    reader = csv.DictReader(io.StringIO(_read_text(path, "utf-8-sig"), newline=""))
    missing = [f for f in REQUIRED if f not in (reader.fieldnames or [])]
    if missing:
        raise ToolkitError(
            f"corrections error: {path} line 1: header lacks column(s) {', '.join(missing)} "
            f"— expected {','.join(FIELDS)}"
        )
    records = []
    for row in reader:
        where = f"{path} line {reader.line_num}"
        record = {k: v for k, v in row.items() if k is not None}
        if "model_revision" in record:  # CSV has no null: the export writes None as an empty cell
            record["model_revision"] = record["model_revision"] or None
        if record.get("scores"):
            try:
                record["scores"] = json.loads(record["scores"])
            except json.JSONDecodeError:
                raise ToolkitError(f"corrections error: {where}: field 'scores' is not a JSON object string") from None
        records.append(_check_record(record, where))
    return records


def _check_record(record, where: str) -> dict:
    """Return ``record`` if it has the fields the merge needs with the right types, else raise."""
    if not isinstance(record, dict):
        raise ToolkitError(
            f"corrections error: {where}: expected a JSON object (a flag record), got {type(record).__name__}"
        )
    for field in REQUIRED:
        if field not in record:
            raise ToolkitError(
                f"corrections error: {where}: missing field '{field}' — a flag record needs {', '.join(REQUIRED)}"
            )
    if not isinstance(record["id"], str) or not record["id"]:
        raise ToolkitError(f"corrections error: {where}: field 'id' must be a non-empty string")
    if not isinstance(record["text"], str):
        raise ToolkitError(f"corrections error: {where}: field 'text' must be a string")
    if record["corrected_label"] is not None and not isinstance(record["corrected_label"], str):
        raise ToolkitError(f"corrections error: {where}: field 'corrected_label' must be a label name (string)")
    try:
        parse_time(record["time"])
    except (TypeError, ValueError):
        raise ToolkitError(
            f"corrections error: {where}: field 'time' {record['time']!r} is not an ISO 8601 timestamp"
        ) from None
    return record


# ----------------------------------------------------------------------------- merging (pure)


def text_key(text: str) -> str:
    """The matching key of a text: NFC, whitespace stripped and collapsed, case-folded (rule 2)."""
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` allowed); a naive one is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def merge_corrections(
    texts: list[str],
    labels: list[str],
    records: list[dict],
    label_names: list[str],
    held_out_texts=(),
) -> tuple[list[str], list[str], dict]:
    """Apply flag records to a training split given as plain lists (the rules of this module).

    Args:
        texts: training texts.
        labels: their label names, same length.
        records: flag records (dicts with ``id, time, text, corrected_label``), in reading order.
        label_names: the classes of the dataset.
        held_out_texts: validation and test texts; a new text among them is not added.

    Returns:
        ``(new_texts, new_labels, summary)``: the training rows in their order with labels
        corrected, then the added texts; and the summary counts (without ``source``).
    """
    classes = set(label_names)
    keys = [text_key(t) for t in texts]
    train_keys = set(keys)
    held_out_keys = {text_key(t) for t in held_out_texts}
    rejections: list[dict] = []

    def reject(record: dict, reason: str):
        rejections.append({"id": record["id"], "text": record["text"], "reason": reason})

    # Rule 1: one record per id, a class label, some text. Survivors are grouped by text key.
    seen_ids: set[str] = set()
    groups: dict[str, list[dict]] = {}
    duplicates = 0
    for record in records:
        if record["id"] in seen_ids:
            duplicates += 1
            continue
        seen_ids.add(record["id"])
        key, label = text_key(record["text"]), record["corrected_label"]
        if not key:
            reject(record, "empty text")
        elif not label:
            reject(record, "no corrected label")
        elif label not in classes:
            reject(
                record,
                f"corrected label {label!r} is not a class of the dataset (expected one of: {', '.join(label_names)})",
            )
        else:
            groups.setdefault(key, []).append(record)

    # Rules 3-5: one winning label per text; relabel a training text, add a new one.
    winners: dict[str, str] = {}
    added_texts, added_labels = [], []
    used = conflicts = 0
    for key, flags in groups.items():
        if key not in train_keys and key in held_out_keys:
            for record in flags:
                reject(record, HELD_OUT_REASON)
            continue
        winner, votes = _majority(flags)
        if len(votes) > 1:
            conflicts += 1
            for record in flags:
                label = record["corrected_label"]
                if label == winner:
                    continue
                if votes[label] == votes[winner]:
                    reject(
                        record,
                        f"tie: {votes[winner]} of {len(flags)} flags each; "
                        f"the latest flag on this text says {winner!r}",
                    )
                else:
                    reject(record, f"outvoted: {votes[winner]} of {len(flags)} flags on this text say {winner!r}")
        used += votes[winner]
        if key in train_keys:
            winners[key] = winner
        else:
            # The latest flag's wording (whitespace normalised) is the text added.
            latest = max(flags, key=lambda r: parse_time(r["time"]))
            added_texts.append(" ".join(latest["text"].split()))
            added_labels.append(winner)

    new_labels = [winners.get(key, label) for key, label in zip(keys, labels, strict=True)]
    relabelled = sum(old != new for old, new in zip(labels, new_labels, strict=True))
    summary = {
        "flags_read": len(seen_ids),
        "used": used,
        "relabelled": relabelled,
        "unchanged": sum(key in winners for key in keys) - relabelled,
        "added": len(added_texts),
        "rejected": len(rejections),
        "rejections": rejections,
        "conflicts_resolved": conflicts,
        "duplicates": duplicates,
    }
    return list(texts) + added_texts, new_labels + added_labels, summary


def _majority(flags: list[dict]) -> tuple[str, Counter]:
    """The label most flags chose; a tie goes to the label whose latest flag is the most recent."""
    votes = Counter(record["corrected_label"] for record in flags)
    latest: dict[str, datetime] = {}
    for record in flags:
        moment = parse_time(record["time"])
        label = record["corrected_label"]
        latest[label] = max(latest.get(label, moment), moment)
    winner = max(votes, key=lambda label: (votes[label], latest[label]))
    return winner, votes


# ----------------------------------------------------------------------------- datasets wrapper


def apply_corrections(train_dataset, label_names: list[str], path: str | Path, held_out_texts=()):
    """Read flags from ``path`` and merge them into ``train_dataset`` (rules in the module docstring).

    Args:
        train_dataset: a ``datasets.Dataset`` with ``text`` (str) and ``label`` (int class id).
        label_names: class names, indexed by class id.
        path: a flag folder, ``.jsonl`` or ``.csv``.
        held_out_texts: the validation and test texts (a new text among them is rejected).

    Returns:
        ``(new_train_dataset, summary)`` — the summary is the ``corrections.json`` content.

    Raises:
        ToolkitError: unreadable or broken flag input.
    """
    from datasets import Dataset, Features

    records = load_flag_records(path)
    labels = [label_names[i] for i in train_dataset["label"]]
    texts, new_labels, summary = merge_corrections(
        list(train_dataset["text"]), labels, records, label_names, held_out_texts
    )
    label_id = {name: i for i, name in enumerate(label_names)}
    features = Features({name: train_dataset.features[name] for name in ("text", "label")})
    merged = Dataset.from_dict({"text": texts, "label": [label_id[lab] for lab in new_labels]}, features=features)
    return merged, {"source": portable_name(str(path)), **summary}  # published: the name, not the local path


def format_summary(summary: dict, limit: int = 10) -> str:
    """A few lines for the terminal: the counts, then the first ``limit`` rejections."""
    lines = [
        f"corrections from {summary['source']}: {summary['flags_read']} flags read, {summary['used']} used "
        f"({summary['relabelled']} training rows relabelled, {summary['added']} texts added), "
        f"{summary['rejected']} rejected, {summary['conflicts_resolved']} conflicts resolved"
    ]
    for item in summary["rejections"][:limit]:
        lines.append(f"  rejected {item['id']}: {item['reason']} — {item['text'][:60]!r}")
    if summary["rejected"] > limit:
        lines.append(f"  ... and {summary['rejected'] - limit} more (see corrections.json)")
    return "\n".join(lines)
