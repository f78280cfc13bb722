"""The model owner's review sheet: one row per flagged text, to accept or not before training.

``python -m space.flags review --flag-dir flags/ --output review.csv [--data data/]`` writes, for each
flagged text (matched as training matches them: NFC, whitespace collapsed, case-folded), the votes
per label (one per client: their latest flag), the number of distinct clients and of flags, the
label most clients chose, the share of the clients who chose it (``agreement``, empty when there is one
client), the current training label when ``--data`` gives the training split, and an empty ``accept``
column. The owner marks rows with ``y`` (and may change ``corrected_label``); ``python -m training
--corrections review.csv`` then uses only the accepted rows, as the owner's own corrections (no vote
threshold).

Flags of a multi-label model (label_sets.py) vote with sets: a client's vote is their latest set, the row's
``corrected_labels`` is the set most clients chose, ``;``-joined (empty: none of these), in place of
``corrected_label``; ``votes`` writes the empty set as ``(none)``. A text flagged under both kinds of model
gets a row of each kind, and a sheet holding both has both columns, each row filling its own (a multi-label
row leaves ``corrected_label`` empty, as the CSV export does).

``--data`` is a local ``text;label`` file or a folder with ``train.txt``, read as training reads a ``.txt``
(split on the last ``;``). Any other data file (``.csv``, ``.jsonl``, ``.parquet``...) is refused in one line:
space/ never imports training/ (it is deployed alone), and a second copy of training's readers here would drift
from them (a CSV's quoting rule, a JSON label list, Parquet needs pyarrow); a wrong training label in the sheet
would mislead the owner, where a refusal only asks for a ``.txt`` or no ``--data``.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import flags
import label_sets

from formats.flag_record import csv_cell, is_set_record, set_cell, shown_escaped, text_key

COLUMNS = ["accept", "text", "corrected_label", "training_label", "votes", "clients", "agreement", "flags"]
COLUMNS.append("last_flag")
# A sheet of multi-label flags: the set column instead of the label column (both when the flags mix the two).
SET_COLUMNS = [name if name != "corrected_label" else "corrected_labels" for name in COLUMNS]


TXT = ".txt"  # the one data format --data reads


class ReviewError(flags.FlagStoreError):
    """A training file the review cannot read (printed as one line by the CLI)."""


def training_file(path: str | Path) -> Path:
    """The file ``--data`` names: ``path`` itself, or ``train.txt`` in it when it is a folder."""
    path = Path(path)
    return path / "train.txt" if path.is_dir() else path


def read_training_labels(path: str | Path) -> dict[str, str]:
    """``{text key: label}`` of a ``text;label`` file, or of ``train.txt`` in a folder.

    Raises:
        ReviewError: no such file, a file other than ``.txt``, or a line without ``;label`` (naming the file
            and line).
    """
    given, path = Path(path), training_file(path)
    others = sorted(given.glob("train.*")) if given.is_dir() and not path.is_file() else []
    if others:
        raise ReviewError(
            f"{given}: no train.txt (found {', '.join(p.name for p in others)}) — --data reads only a text;label "
            "file or a folder with train.txt: write the training split as train.txt, or leave --data out"
        )
    if not path.is_file():
        raise ReviewError(f"{path}: no such file — --data expects a text;label file or a folder with train.txt")
    if path.suffix.lower() != TXT:
        raise ReviewError(
            f"{path}: a {path.suffix or 'file without extension'} — --data reads only a text;label .txt file "
            "(or a folder with train.txt): write the training split as one, or leave --data out"
        )
    labels: dict[str, set[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        text, sep, label = line.rpartition(";")
        if not sep or not label.strip():
            raise ReviewError(f"{path} line {number}: expected 'text;label'")
        labels.setdefault(text_key(text), set()).add(label.strip())
    return {key: "/".join(sorted(names)) for key, names in labels.items()}  # a text labelled twice shows both


def review_rows(records: list[dict], training_labels: dict[str, str] | None = None) -> list[dict]:
    """One row per flagged text (and kind of flag, single- or multi-label), the most-flagged (by distinct
    clients) first.

    Args:
        records: flag records, oldest first (as :func:`flags.read_records` returns them).
        training_labels: ``{text key: label}`` of the training split, if known.
    """
    groups: dict[tuple[bool, str], list[dict]] = {}
    for record in records:
        if text_key(record["text"]):
            kind = is_set_record(record)
            groups.setdefault((kind, text_key(record["text"])), []).append(record)
    rows = [review_row(group, kind, (training_labels or {}).get(key, "")) for (kind, key), group in groups.items()]
    return sorted(rows, key=lambda row: (-row["clients"], -row["flags"], row["text"]))


def review_row(group: list[dict], sets: bool, training_label: str) -> dict:
    """The sheet's row of one text's flags (oldest first), all of one kind: ``sets`` for multi-label flags."""
    latest = {(r.get("client") or f"anonymous:{r['id']}"): r for r in group}  # records are oldest first
    ballots = sorted(latest.values(), key=lambda r: r["time"])  # one per client, oldest first
    # A set is one vote whatever the order of its labels; it is shown as its first record wrote it (the Space
    # writes the model's label order).
    choices = [frozenset(r["corrected_labels"]) if sets else r["corrected_label"] for r in ballots]
    shown: dict = {}
    for choice, ballot in zip(choices, ballots, strict=True):
        shown.setdefault(choice, set_cell(ballot["corrected_labels"]) if sets else choice)
    votes = Counter(choices)
    last = {choice: n for n, choice in enumerate(choices)}  # a tie goes to the latest vote
    leader = max(votes, key=lambda choice: (votes[choice], last[choice]))
    return {
        "accept": "",
        "text": " ".join(shown_escaped(group[-1]["text"]).split()),  # controls escaped, then spaces
        "corrected_labels" if sets else "corrected_label": shown[leader],
        "training_label": training_label,
        "votes": " ".join(f"{shown[choice] or label_sets.NONE_VOTE}:{n}" for choice, n in votes.most_common()),
        "clients": len(latest),
        # The share of clients behind the leading vote: 1.0 is unanimous; one client agrees with nobody.
        "agreement": round(votes[leader] / len(latest), 2) if len(latest) > 1 else "",
        "flags": len(group),
        "last_flag": group[-1]["time"],
    }


def sheet_columns(rows: list[dict]) -> list[str]:
    """The sheet's columns: :data:`COLUMNS`, :data:`SET_COLUMNS` for multi-label rows only, or both label columns."""
    if not any("corrected_labels" in row for row in rows):
        return COLUMNS
    if all("corrected_labels" in row for row in rows):
        return SET_COLUMNS
    at = COLUMNS.index("corrected_label") + 1
    return [*COLUMNS[:at], "corrected_labels", *COLUMNS[at:]]


def write_review(rows: list[dict], out: str | Path) -> Path:
    """Write the sheet as CSV (cells safe for a spreadsheet, see :func:`formats.flag_record.csv_cell`)."""
    out = Path(out)
    if out.suffix != ".csv":
        raise ReviewError(f"{out}: expected a .csv file name (a sheet to open in a spreadsheet)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=sheet_columns(rows))
        writer.writeheader()
        writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
    return out
