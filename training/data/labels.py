"""Multi-label data: which runs are multi-label (and why), each row's label set, and the checks per label.

A dataset is multi-label when ``--label-columns`` names one 0/1 column per label, when ``--multi-label``
says a label cell holds several names (``joy,love``, split on ``--label-separator``), or, unless
``--single-label`` says otherwise, when its label column holds lists (JSON, JSONL or Parquet lists, a Hub
``Sequence(ClassLabel)``). A text may have no label at all: it says "none of these", and is counted.

Every split then has a ``label`` column of label-id lists (``List(ClassLabel)``), in label order: the
``--label-columns`` order, the Hub's names, ``--label-names``, or the sorted names.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from training.data.readers import Row, short_repr
from training.errors import ToolkitError


def detect_multi_label(
    train: list[Row], *, label_columns: list[str] | None, mode: str, separator: str
) -> tuple[bool, str]:
    """Whether the data is multi-label, and the reason printed with it.

    Args:
        train: the training rows as read.
        label_columns: ``--label-columns``.
        mode: ``auto``, or ``multi`` / ``single`` (``--multi-label`` / ``--single-label``).
        separator: ``--label-separator``.
    """
    if label_columns:
        return True, f"--label-columns names one 0/1 column per label ({len(label_columns)} columns)"
    listed = next((row for row in train if isinstance(row.label, list)), None)
    if mode == "multi":
        return True, f"--multi-label: a label cell holds label names separated by {separator!r}"
    if mode == "single":
        if listed is not None:
            raise ToolkitError(
                f"data error: {listed.where}: the label is a list ({short_repr(listed.label)}) — a single-label "
                "run takes one label per text; leave out --single-label to train a multi-label model"
            )
        return False, "--single-label"
    if listed is not None:
        return True, f"the label column holds lists ({listed.where}); --single-label overrides"
    return False, "one label per text"


def label_set(row: Row, separator: str | None) -> list[str]:
    """A row's labels as a list of names, each once, in their order (an empty list: no label).

    ``separator`` splits a label cell that is a string (``--label-separator``); None takes it as one name.

    Raises:
        ToolkitError: a null label, or a null (or a list, a dict) among the names: ``str()`` would make a class
            named "None" of it.
    """
    label = row.label
    if label is None:
        raise ToolkitError(
            f"data error: {row.where}: the label is null — expected a list of label names ([] for a text with none)"
        )
    if isinstance(label, list):
        items = label
    elif isinstance(label, str):
        items = label.split(separator) if separator else [label]
    else:
        items = [label]
    names: list[str] = []
    for item in items:
        if item is None:
            raise ToolkitError(
                f"data error: {row.where}: a null among the labels {short_repr(label)} — expected label names"
            )
        if isinstance(item, dict | list):
            raise ToolkitError(f"data error: {row.where}: a label {short_repr(item)} — expected label names")
        name = str(item).strip()
        if name and name not in names:
            names.append(name)
    return names


def as_label_sets(raw: dict[str, list[Row]], separator: str) -> dict[str, list[Row]]:
    """Every split's rows with their label as a list of names."""
    return {split: [row._replace(label=label_set(row, separator)) for row in rows] for split, rows in raw.items()}


def label_places(train: list[Row], where: str) -> dict[str, list[str]]:
    """Each label of the training rows with the lines (or rows) that have it."""
    places: dict[str, list[str]] = defaultdict(list)
    for row in train:
        for name in row.label:
            places[name].append(row.where.removeprefix(f"{where} "))
    return places


def rarest_label(train: list[Row]):
    """A stratum for the split of a multi-label file: each row's rarest label ("" for none), so that a rare label
    reaches validation and test (one label per row cannot keep every label's share exactly)."""
    counts = Counter(name for row in train for name in row.label)
    return lambda row: min(row.label, key=lambda name: (counts[name], name)) if row.label else ""


def multi_label_order(train: list[Row], label_names: list[str] | None) -> list[str]:
    """Label names in id order: ``label_names`` when given (or the --label-columns order), else sorted."""
    if label_names:
        return list(label_names)
    return sorted({name for row in train for name in row.label})


def to_multi_label_dataset(rows: list[Row], labels: list[str], split: str):
    """Validate rows and build a ``datasets.Dataset`` with ``text`` and a ``label`` list of label ids."""
    import datasets

    ids = {name: i for i, name in enumerate(labels)}
    label_ids = []
    for row in rows:
        if not row.text:
            raise ToolkitError(f"data error: {row.where}: empty text")
        unknown = [name for name in row.label if name not in ids]
        if unknown:
            where = "the label names" if split == "train" else "train"
            raise ToolkitError(
                f"data error: {row.where}: label '{unknown[0]}' never appears in {where} (labels: {', '.join(labels)})"
            )
        label_ids.append(sorted(ids[name] for name in row.label))
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.List(datasets.ClassLabel(names=labels))}
    )
    return datasets.Dataset.from_dict({"text": [r.text for r in rows], "label": label_ids}, features=features)


def multi_hot(label_sets, num_labels: int) -> np.ndarray:
    """``(texts, labels)`` 0/1 float32 matrix of label-id lists."""
    matrix = np.zeros((len(label_sets), num_labels), dtype=np.float32)
    for row, ids in enumerate(label_sets):
        matrix[row, list(ids)] = 1.0
    return matrix


def label_set_stats(label_sets) -> dict[str, float]:
    """Label cardinality (mean labels per text), the share of texts with two or more, and the texts with none."""
    sizes = np.array([len(ids) for ids in label_sets])
    return {
        "cardinality": float(sizes.mean()) if len(sizes) else 0.0,
        "two_or_more": float((sizes >= 2).mean()) if len(sizes) else 0.0,
        "none": int((sizes == 0).sum()),
    }
