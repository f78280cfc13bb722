"""Load a labelled text dataset from any source into train / validation / test splits.

Sources: a Hub dataset id, a local folder (``train``, ``validation``|``val``|``dev``, ``test`` files),
a single file (split stratified 80/10/10 with the seed) or an http(s) URL to a file, in the formats that
``training.data.readers`` reads.

Every split becomes a ``datasets.Dataset`` with columns ``text`` (str) and ``label`` (int id).
Label names and order: ``ClassLabel.names`` for Hub datasets; for files, the sorted label names
(integers sorted numerically), or the order given by ``--label-names``. Sorted, not first-seen, so
that shuffling a file does not change the label ids. Bad data raises ``ToolkitError`` naming the file
and line (or row) before any training starts; duplicates and train/test overlap become warnings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from formats.flag_record import SET_SEPARATORS
from formats.output_folder import ERRORS_FILE
from training.data.download import download
from training.data.hub import read_hub
from training.data.labels import (
    as_label_sets,
    detect_multi_label,
    label_places,
    multi_label_order,
    rarest_label,
    to_multi_label_dataset,
)
from training.data.readers import FORMATS, Columns, Row, find_split_files, read_rows
from training.errors import ToolkitError
from training.paths import can_only_be_local, is_url

# Shipped with the project: a synthetic sample the demo falls back to when the Hub is unreachable.
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "data" / "sample"
MAX_LISTED = 5  # labels, and lines of each, that a data error names before "..."


EVALUATION_SPLITS = ("validation", "test")  # the splits a label must never leak from into training


@dataclass
class LoadedData:
    """Train/validation(/test) splits with integer labels, and where they came from."""

    splits: dict  # split name -> datasets.Dataset: "text" (str), "label" (int id; multi-label: a list of ids)
    labels: list[str]  # label names in id order
    source: str  # --data as given
    revision: str | None = None  # Hub dataset commit, when known
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its bytes
    warnings: list[str] = field(default_factory=list)
    multi_label: bool = False  # each text has a set of labels (possibly empty)
    task_reason: str = "one label per text"  # why the data was read as single- or multi-label

    def sizes(self) -> dict[str, int]:
        return {name: len(ds) for name, ds in self.splits.items()}

    def held_out_texts(self) -> list[str]:
        """Every text of the evaluation splits: a flag or a sheet row on one of them never goes into training."""
        return [text for name in EVALUATION_SPLITS if name in self.splits for text in self.splits[name]["text"]]

    def class_counts(self) -> dict[str, dict[str, int]]:
        """Examples of every class in each split: ``{label: {split: count}}`` (0 where a class is absent); a
        multi-label text counts once for each of its labels."""
        counts = {name: Counter(label_ids(ds["label"], self.multi_label)) for name, ds in self.splits.items()}
        return {label: {name: counts[name][i] for name in self.splits} for i, label in enumerate(self.labels)}


def gold_labels(data: LoadedData, split: str):
    """A split's gold labels as an array: label ids, or for multi-label data the ``(texts, labels)`` 0/1 matrix."""
    import numpy as np

    from training.data.labels import multi_hot

    column = data.splits[split]["label"]
    return multi_hot(column, len(data.labels)) if data.multi_label else np.asarray(column)


def label_ids(column, multi_label: bool):
    """Every label id of a split's ``label`` column (each id of each set, for multi-label data)."""
    return (i for ids in column for i in ids) if multi_label else column


def load_data(
    source: str,
    *,
    text_column: str = "text",
    label_column: str = "label",
    label_names: list[str] | None = None,
    revision: str | None = None,
    seed: int = 42,
    min_class_examples: int = 0,
    label_columns: list[str] | None = None,
    label_mode: str = "auto",
    label_separator: str = ",",
) -> LoadedData:
    """Load ``source`` (Hub id, folder, file or URL) and validate it.

    Args:
        source: what ``--data`` was.
        text_column: column with the text (not used for ``.txt``).
        label_column: column with the label (not used for ``.txt``).
        label_names: label names in id order, for integer labels (optional).
        revision: Hub dataset revision.
        seed: seed of the stratified split when a split is missing.
        min_class_examples: a label with fewer training examples is an error (0: no check).
        label_columns: multi-label data with one 0/1 column per label (``--label-columns``).
        label_mode: ``auto`` (multi-label when the label column holds lists), ``multi`` or ``single``.
        label_separator: what separates the names in a multi-label cell (``joy,love``).

    Returns:
        The validated splits, label names and provenance.

    Raises:
        ToolkitError: bad data, naming the file and line/row. ``HubUnavailable`` when a Hub dataset
            or URL cannot be downloaded.
    """
    path = Path(source)
    separator = label_separator if label_mode == "multi" else None  # --multi-label: cells split on it
    columns = Columns(text_column, label_column, label_columns=tuple(label_columns or ()), label_separator=separator)
    raw: dict[str, list[Row]] = {}
    files: dict[str, str] = {}
    hub_revision = None
    url = is_url(source)
    if url:
        split_files = {"train": download(source)}
    elif path.is_dir():
        split_files = find_split_files(path)
    elif path.is_file():
        split_files = {"train": path}
    elif path.suffix.lower() in FORMATS or can_only_be_local(source):
        raise ToolkitError(f"data error: {source}: no such local file or folder")
    else:
        split_files = {}
        raw, hub_names, hub_revision = read_hub(source, columns, revision)
        label_names = label_names or hub_names
    for split, file in split_files.items():
        raw[split], files[file.name] = read_rows(file, columns, name=source if url else None)
    where = {split: source if url else str(file) for split, file in split_files.items()} or dict.fromkeys(
        raw, f"Hub dataset '{source}'"
    )

    multi, reason = detect_multi_label(
        raw["train"], label_columns=label_columns, mode=label_mode, separator=label_separator
    )
    if multi:
        raw = as_label_sets(raw, label_separator)
        places = label_places(raw["train"], where["train"])
        check_set_names(places, where["train"])
        check_label_places(places, where["train"], min_class_examples)
        raw, notes = complete_splits(raw, seed, where, stratum=rarest_label(raw["train"]))
        labels = multi_label_order(raw["train"], label_names or label_columns)
        splits = {name: to_multi_label_dataset(rows, labels, split=name) for name, rows in raw.items()}
    else:
        check_classes(raw["train"], where["train"], min_class_examples)
        raw, notes = complete_splits(raw, seed, where)
        labels = label_order(raw["train"], label_names)
        splits = {name: to_dataset(rows, labels, split=name) for name, rows in raw.items()}
    return LoadedData(
        splits=splits,
        labels=labels,
        source=source,
        revision=hub_revision,
        files=files,
        warnings=notes + data_warnings(splits),
        multi_label=multi,
        task_reason=reason,
    )


def is_sample(source: str) -> bool:
    """Whether ``source`` is the bundled synthetic sample (the folder, or one of its files)."""
    path = Path(source).expanduser()
    return path.exists() and SAMPLE_DATA in (path.resolve(), path.resolve().parent)


# --- Splits and labels ---------------------------------------------------------------------------


def check_classes(train: list[Row], where: str, min_examples: int) -> None:
    """Stop, before anything slow, on training data that cannot make the classifier the user means.

    Fewer than two classes cannot be classified. A label with fewer than ``min_examples`` rows is
    nearly always a typo (``joyy``) or a ``;`` inside a text with no label after it, which would
    otherwise silently become a class of its own; the error names the label and its lines.
    """
    places: dict[str, list[str]] = defaultdict(list)
    for row in train:
        check_label_given(row)
        places[str(row.label)].append(row.where.removeprefix(f"{where} "))
    check_label_places(places, where, min_examples)


def check_label_given(row: Row) -> None:
    """A single-label row must have a label: an empty cell, or a null (never the class "None")."""
    if row.label is None:
        raise ToolkitError(f"data error: {row.where}: the label is null — expected a label name")
    if row.label == "":
        raise ToolkitError(f"data error: {row.where}: empty label")


def check_set_names(places: dict[str, list[str]], where: str) -> None:
    """Multi-label names may not hold a set separator: a set is written as names joined by one (errors.csv, flags,
    predict's CSV), so such a name would read back as two labels."""
    for label, lines in places.items():
        if any(separator in label for separator in SET_SEPARATORS):
            raise ToolkitError(
                f"data error: {where}: label '{label}' on {lines[0]} holds a ';' or ',' — a multi-label set is "
                f"written as names joined by them ({ERRORS_FILE}, flags, predict's CSV): rename the label"
            )


def check_label_places(places: dict[str, list[str]], where: str, min_examples: int) -> None:
    """At least two labels, and none with fewer than ``min_examples`` training examples (naming its lines)."""
    if len(places) < 2:
        found = f"only one label ('{next(iter(places))}')" if places else "no labels"
        raise ToolkitError(f"data error: {where}: {found} in the training data — a classifier needs at least two")
    rare = sorted((label, lines) for label, lines in places.items() if len(lines) < min_examples)
    if not rare:
        return
    described = "; ".join(
        f"'{label}' on {', '.join(lines[:MAX_LISTED])}{' ...' if len(lines) > MAX_LISTED else ''}"
        for label, lines in rare[:MAX_LISTED]
    )
    more = f" and {len(rare) - MAX_LISTED} more" if len(rare) > MAX_LISTED else ""
    hint = (
        " (a label with spaces: a ';' inside a text whose label is missing?)"
        if any(" " in label for label, _ in rare)
        else ""
    )
    raise ToolkitError(
        f"data error: {where}: {len(rare)} label(s) with fewer than {min_examples} training examples — "
        f"{described}{more}{hint}; fix them, or set --min-class-examples 0 to keep rare classes"
    )


def complete_splits(
    raw: dict[str, list[Row]], seed: int, where: dict[str, str], stratum=lambda row: str(row.label)
) -> tuple[dict[str, list[Row]], list[str]]:
    """Carve the missing splits out of train, stratified: 80/10/10 alone, 90/10 when only validation lacks.

    ``where`` names the file (or Hub dataset) each split was read from, for the error on an empty one;
    ``stratum`` gives each row's stratum (its label; a multi-label row's rarest label).
    """
    for name, rows in raw.items():
        if not rows:
            raise ToolkitError(f"data error: {where[name]}: the {name} split is empty — expected labelled examples")
    notes = []
    if "validation" not in raw and "test" not in raw:
        train, validation, test = stratified_split(raw["train"], (0.8, 0.1, 0.1), seed, stratum)
        raw = {"train": train, "validation": validation, "test": test}
        notes.append(f"one file: split stratified 80/10/10 with seed {seed}")
    elif "validation" not in raw:
        train, validation = stratified_split(raw["train"], (0.9, 0.1), seed, stratum)
        raw = {**raw, "train": train, "validation": validation}
        notes.append(f"no validation split: held out 10% of train (stratified, seed {seed})")
    for name, rows in raw.items():
        if not rows:  # too few training examples to carve this split out of them
            raise ToolkitError(
                f"data error: {where['train']}: too few examples to hold out a {name} split — add examples "
                f"or a {name} file"
            )
    return raw, notes


def stratified_split(
    rows: list[Row], fractions: tuple[float, ...], seed: int, stratum=lambda row: str(row.label)
) -> list[list[Row]]:
    """Split rows so that every part keeps the label proportions; rows keep their file order.

    Each label's rows are shuffled with ``seed`` and cut by ``fractions`` (rounding down for all
    parts but the first), so a label with one example stays in the first part.
    """
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_label[stratum(row)].append(i)
    part_of = {}
    for indices in by_label.values():
        rng.shuffle(indices)
        counts = [int(len(indices) * f) for f in fractions[1:]]
        bounds = [len(indices) - sum(counts)]
        for count in counts:
            bounds.append(bounds[-1] + count)
        start = 0
        for part, end in enumerate(bounds):
            for i in indices[start:end]:
                part_of[i] = part
            start = end
    return [[row for i, row in enumerate(rows) if part_of[i] == part] for part in range(len(fractions))]


def is_int_label(label: object) -> bool:
    return (isinstance(label, int) and not isinstance(label, bool)) or (
        isinstance(label, str) and label.lstrip("-").isdigit()
    )


def label_order(train: list[Row], label_names: list[str] | None) -> list[str]:
    """Label names in id order: ``label_names`` when given, else sorted (integers numerically)."""
    if label_names:
        return list(label_names)
    found = {row.label for row in train if row.label not in (None, "")}
    if found and all(is_int_label(label) for label in found):
        return [str(v) for v in sorted({int(label) for label in found})]
    return sorted({str(label) for label in found})


def label_id(row: Row, labels: list[str], ids: dict[str, int], split: str, explicit_ints: bool) -> int:
    """The id of a row's label, or an error naming the row."""
    label = row.label
    check_label_given(row)
    if explicit_ints and is_int_label(label) and str(label) not in ids:  # --label-names with integer labels
        value = int(label)
        if 0 <= value < len(labels):
            return value
        raise ToolkitError(f"data error: {row.where}: label {value} out of range 0..{len(labels) - 1} of --label-names")
    if str(label) not in ids:
        where = "the label names" if split == "train" else "train"
        raise ToolkitError(
            f"data error: {row.where}: label '{label}' never appears in {where} (labels: {', '.join(labels)})"
        )
    return ids[str(label)]


def to_dataset(rows: list[Row], labels: list[str], split: str):
    """Validate rows and build a ``datasets.Dataset`` with ``text`` and integer ``label`` columns."""
    import datasets

    ids = {name: i for i, name in enumerate(labels)}
    explicit_ints = not any(is_int_label(name) for name in labels)
    label_ids = []
    for row in rows:
        if not row.text:
            raise ToolkitError(f"data error: {row.where}: empty text")
        label_ids.append(label_id(row, labels, ids, split, explicit_ints))
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=labels)})
    return datasets.Dataset.from_dict({"text": [r.text for r in rows], "label": label_ids}, features=features)


# --- Checks and fingerprints ---------------------------------------------------------------------


def data_warnings(splits: dict) -> list[str]:
    """Duplicate texts in train (and how many disagree on the label), and texts shared with train."""
    warnings = []
    train_labels: dict[str, set[int]] = defaultdict(set)
    counts = Counter(splits["train"]["text"])
    for text, label in zip(splits["train"]["text"], splits["train"]["label"], strict=True):
        train_labels[text].add(tuple(label) if isinstance(label, list) else label)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    if duplicates:
        conflicting = sum(1 for labels in train_labels.values() if len(labels) > 1)
        warnings.append(f"train: {duplicates} duplicate texts ({conflicting} texts with conflicting labels)")
    for name in EVALUATION_SPLITS:
        if name in splits:
            shared = sum(1 for text in splits[name]["text"] if text in train_labels)
            if shared:
                warnings.append(f"{name}: {shared} of {len(splits[name])} texts also appear in train")
    return warnings


def subsample(data: LoadedData, max_train: int | None, max_eval: int | None, seed: int) -> LoadedData:
    """Keep a seeded random subset of each split (for quick runs)."""
    limits = {"train": max_train, "validation": max_eval, "test": max_eval}
    return replace_splits(
        data,
        {
            name: ds.shuffle(seed=seed).select(range(limits[name])) if limits[name] and limits[name] < len(ds) else ds
            for name, ds in data.splits.items()
        },
    )


def replace_splits(data: LoadedData, splits: dict) -> LoadedData:
    """The same data with new splits (a subset, corrected labels); warnings describe the new splits."""
    notes = [w for w in data.warnings if not w.startswith(("train:", "validation:", "test:"))]
    return dataclasses.replace(data, splits=splits, warnings=notes + data_warnings(splits))


def split_sha256(dataset, labels: list[str]) -> str:
    """sha256 over the split's rows, each ``text + "\\t" + label_name + "\\n"``, in order."""
    digest = hashlib.sha256()
    for text, label in zip(dataset["text"], dataset["label"], strict=True):
        name = ",".join(labels[i] for i in label) if isinstance(label, list) else labels[label]
        digest.update(f"{text}\t{name}\n".encode())
    return digest.hexdigest()
