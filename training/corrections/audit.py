"""A ``training.audit`` sheet's rows as the owner's decisions on texts of the data: relabel, keep or drop.

Each filled row of an audit sheet (``training.corrections.records``: a row with a ``label_quality`` column) says
one of three things about a text of its ``split``:

- a label (multi-label: a set, ``joy,love``, or ``none``): the text's right label. A training row goes into the
  merge as the owner's correction (``training.corrections.merge``: it decides its text outright); a label equal
  to the ``given`` one counts as kept;
- ``keep``: the given label is right. Nothing changes, and the text's key is remembered in ``corrections.json``
  (``audit.kept_keys``) so that a later audit of the run never asks about it again;
- ``drop``: the text is unusable: it leaves the training split.

Rows of ``validation`` and ``test`` change the evaluation data only with ``--correct-eval``
(:func:`correct_evaluation`); otherwise they are counted and left alone. A blank row is skipped. A label that is
not a class of the data stops the run with one line naming the sheet, the row's rank and the label: unlike a
visitor's flag, an owner's typo must not pass as "rejected".
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from formats.flag_record import text_key
from training.corrections.records import AUDIT
from training.corrections.votes import NotAVote, Vote, record_vote
from training.data.load import EVALUATION_SPLITS
from training.errors import ToolkitError

KEEP, DROP = "keep", "drop"  # the two answers of an audit sheet that are not labels
TRAIN = "train"


def key_hash(text: str) -> bytes:
    """The matching key of ``text`` (:func:`formats.flag_record.text_key`) as an 8-byte hash: how ``training.ask``
    holds millions of known texts, and how ``corrections.json`` remembers the kept ones."""
    return hashlib.blake2b(text_key(text).encode("utf-8"), digest_size=8).digest()


@dataclass
class Decisions:
    """The owner's decisions of the audit sheets' rows, by split; text keys as :func:`formats.flag_record.text_key`."""

    relabel: list[dict] = field(default_factory=list)  # training rows, as records for the merge
    kept: list[str] = field(default_factory=list)  # texts (any split) whose given label is right
    dropped: dict[str, set[str]] = field(default_factory=dict)  # split -> keys of the texts to drop
    labels: dict[str, dict[str, Vote]] = field(default_factory=dict)  # split -> key -> the right label
    counts: Counter = field(default_factory=Counter)  # (split, what) -> rows

    def summary(self, correct_eval: bool) -> dict:
        """``corrections.json["audit"]``: rows by split and decision, and the kept texts' keys (hex)."""
        by_split: dict[str, dict[str, int]] = {}
        for (split, what), count in sorted(self.counts.items()):
            by_split.setdefault(split, {})[what] = count
        return {
            "rows": sum(self.counts.values()),
            "relabelled": self.counts[(TRAIN, "relabelled")],
            "kept": self.counts[(TRAIN, "kept")],
            "dropped": self.counts[(TRAIN, "dropped")],
            "blank": sum(count for (_, what), count in self.counts.items() if what == "blank"),
            "by_split": by_split,
            "correct_eval": correct_eval,
            "kept_keys": sorted({key_hash(text).hex() for text in self.kept}),
        }


def audit_decisions(records: list[dict], label_names: list[str], multi_label: bool, source) -> tuple[list, Decisions]:
    """Take the audit sheets' rows out of ``records``: the other records, and the decisions of those rows.

    Args:
        records: flag records (``training.corrections.records.load_flag_records``).
        label_names: the classes of the data.
        multi_label: whether each answer is a set of labels.
        source: the corrections file, as its messages name it.

    Raises:
        ToolkitError: a row's label is not a class of the data (nor ``keep``/``drop``), or its split is unknown.
    """
    decisions, others = Decisions(), []
    for record in records:
        if record.get("origin") != AUDIT:
            others.append(record)
            continue
        split = str(record.get("split") or TRAIN)
        if split not in (TRAIN, *EVALUATION_SPLITS):
            raise ToolkitError(
                f"corrections error: {source} rank {record.get('rank')}: split {split!r} — expected train, "
                "validation or test"
            )
        decide(record, split, label_names, multi_label, decisions, source)
    return others, decisions


def decide(record: dict, split: str, label_names: list[str], multi_label: bool, decisions: Decisions, source) -> None:
    """One audit row's decision, added to ``decisions`` (the module docstring's rules)."""
    answer = record.get("corrected_label")
    word = answer.strip().lower() if isinstance(answer, str) else None
    key = text_key(record["text"])
    if word in ("", None) and not record.get("corrected_labels"):
        decisions.counts[(split, "blank")] += 1
        return
    if word == DROP:
        decisions.dropped.setdefault(split, set()).add(key)
        decisions.counts[(split, "dropped")] += 1
        return
    vote = None if word == KEEP else vote_of(record, label_names, multi_label, source)
    given = record.get("given")
    if vote is None or (given is not None and vote == given_vote(given, label_names, multi_label)):
        decisions.kept.append(record["text"])
        decisions.counts[(split, "kept")] += 1
        return
    if split == TRAIN:
        decisions.relabel.append(record)
    else:
        decisions.labels.setdefault(split, {})[key] = vote
    decisions.counts[(split, "relabelled")] += 1


def vote_of(record: dict, label_names: list[str], multi_label: bool, source) -> Vote:
    """The label an audit row gives, or a one-line error naming the sheet, the row and the classes."""
    try:
        return record_vote(record, label_names, multi_label)
    except NotAVote as refusal:
        written = record.get("corrected_label") or record.get("corrected_labels")
        raise ToolkitError(
            f"corrections error: {source} rank {record.get('rank')}: label {written!r} is not a class of the data "
            f"— expected one of {', '.join(label_names)}, {KEEP} (the given label is right) or {DROP} (unusable)"
            f" ({refusal.reason})"
        ) from None


def given_vote(given: str, label_names: list[str], multi_label: bool) -> Vote | None:
    """The ``given`` cell of a row as a vote (None when it is not one: a sheet edited by hand)."""
    try:
        return record_vote({"corrected_label": given}, label_names, multi_label)
    except NotAVote:
        return None


def drop_rows(dataset, keys: set[str]):
    """``dataset`` (``text``, ``label``) without the rows whose text key is in ``keys``."""
    if not keys:
        return dataset
    return dataset.filter(lambda row: text_key(row["text"]) not in keys)


def correct_evaluation(splits: dict, decisions: Decisions, label_names: list[str], multi_label: bool) -> dict:
    """``--correct-eval``: the validation and test splits with the audit's relabels and drops applied.

    Args:
        splits: split name -> ``datasets.Dataset`` (``text``, ``label`` as class ids).
        decisions: the audit sheets' decisions (:func:`audit_decisions`).
        label_names: the classes, in id order.
        multi_label: whether a label is a list of class ids.

    Returns:
        The splits, those of :data:`EVALUATION_SPLITS` corrected (the others as they were).
    """
    corrected = dict(splits)
    for name in EVALUATION_SPLITS:
        if name not in splits:
            continue
        labels = decisions.labels.get(name, {})

        def relabel(row, labels=labels):
            vote = labels.get(text_key(row["text"]))
            if vote is None:
                return row
            ids = label_names.index(vote) if not multi_label else sorted(label_names.index(n) for n in vote)
            return {**row, "label": ids}

        dataset = drop_rows(splits[name], decisions.dropped.get(name, set()))
        corrected[name] = dataset.map(relabel) if labels else dataset
    return corrected
