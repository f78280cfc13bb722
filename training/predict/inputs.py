"""INPUT of a prediction: what ``--data`` accepts, read as one stream of rows by training's readers.

A file, a folder (its data files, sorted by name), a glob (``'tweets/*.jsonl'``, sorted), an http(s)
URL, or a Hub dataset id (``--split``; the only split when it has one). Labels are optional: a
file without the label column (or a ``.txt`` whose first line has no ``;``) is read as texts only.

A multi-label model's gold sets come in training's three layouts, read by training's code: a label column
of lists, ``--label-columns`` (one 0/1 column per label), or ``--multi-label`` cells split on
``--label-separator``. Without ``--multi-label`` a label cell that is a string is one label name.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from training.data.download import download
from training.data.hub import hub_rows, load_hub_dataset
from training.data.labels import label_set
from training.data.readers import FORMATS, Columns, Row, iter_rows, short_repr
from training.errors import ToolkitError
from training.paths import can_only_be_local, is_url

GLOB_CHARACTERS = "*?["


@dataclass
class Input:
    """The files (or Hub split) of INPUT, and how to read them."""

    source: str
    columns: Columns
    files: list[Path]  # empty for a Hub dataset
    names: list[str]  # how messages name each file (the URL for a download)
    hub_split: object = None  # a datasets.Dataset
    where: str = ""  # how messages name the Hub split
    digests: dict = field(default_factory=dict)  # name -> sha256 of the file's bytes, from :meth:`scan`

    def rows(self) -> Iterator[Row]:
        """Every row of the input, in order, streamed."""
        if self.hub_split is not None:
            yield from hub_rows(self.hub_split, self.columns, self.where)
        for file, name in zip(self.files, self.names, strict=True):
            yield from iter_rows(file, self.columns, name=name)

    def gold_set(self, row: Row) -> list[str]:
        """A row's gold labels for a multi-label model, read as training reads them (``label_sets.label_set``)."""
        return label_set(row, self.columns.label_separator)

    def scan(self, classes: list[str], multi_label: bool = False) -> tuple[int, bool]:
        """Read everything once: the row count, whether every row has a label; bad data fails here.

        Each file's bytes are hashed as they are read (for :meth:`fingerprint`).

        Args:
            classes: the model's classes (labels).
            multi_label: whether the model predicts label sets (each row's gold is a set of them).

        Raises:
            ToolkitError: an empty file, a bad row, or a label that is not one of ``classes``.
        """
        check_label_columns(self.columns.label_columns, classes)
        known = set(classes)
        count, labelled, unlabelled = 0, 0, 0
        for file, name in zip(self.files or [None], self.names or [self.where], strict=True):
            digest = hashlib.sha256()
            rows = iter_rows(file, self.columns, name, digest) if file else hub_rows(self.hub_split, self.columns, name)
            before = count
            for row in rows:
                count += 1
                if row.label is None:
                    unlabelled += 1
                    continue
                labelled += 1
                if multi_label:
                    unknown = next((name for name in self.gold_set(row) if name not in known), None)
                else:
                    unknown = None if str(row.label) in known else row.label
                if unknown is not None:
                    raise ToolkitError(self.not_a_class(row, unknown, classes, multi_label))
            if count == before:
                raise ToolkitError(f"data error: {name}: no rows — expected {expected(file)}")
            if file:
                self.digests[name] = {"size": file.stat().st_size, "sha256": digest.hexdigest()}
        if labelled and unlabelled:
            none = " (an empty list: none of the labels)" if multi_label else ""
            raise ToolkitError(
                f"data error: {self.source}: {unlabelled} rows have no label and {labelled} have one — "
                f"label every row{none}, or pass --no-labels"
            )
        return count, bool(labelled)

    def not_a_class(self, row: Row, label, classes: list[str], multi_label: bool) -> str:
        """The one line for a gold label that the model does not know, with what the user may mean."""
        if isinstance(label, list) and not multi_label:
            return (
                f"data error: {row.where}: the label is a list ({short_repr(label)}), but the model is single-label "
                f"(classes: {', '.join(classes)}) — pass --no-labels, or use a multi-label model"
            )
        if multi_label and self.columns.label_separator is None and isinstance(row.label, str) and "," in row.label:
            hint = "a cell of several labels needs --multi-label (and --label-separator), or pass --no-labels"
        else:
            hint = "pass --label-column for another column, or --no-labels"
        return (
            f"data error: {row.where}: label '{label}' is not a class of the model "
            f"(classes: {', '.join(classes)}) — {hint}"
        )

    def fingerprint(self) -> dict:
        """What identifies this input for a resumed run: each file's size and the sha256 of its bytes, as
        :meth:`scan` read them (an edit in place that keeps the size and modification time still shows)."""
        if self.hub_split is not None:
            return {"hub": self.where, "fingerprint": getattr(self.hub_split, "_fingerprint", None)}
        return {name: self.digests[name] for name in self.names}


def check_label_columns(columns: tuple[str, ...], classes: list[str]) -> None:
    """``--label-columns`` must name one column per class of the model: a class without its column would count
    as never true, and its metrics would be wrong without a word."""
    if not columns:
        return
    unknown = [column for column in columns if column not in classes]
    if unknown:
        raise ToolkitError(
            f"predict error: --label-columns: '{unknown[0]}' is not a class of the model "
            f"(classes: {', '.join(classes)}) — name one 0/1 column per class"
        )
    missing = [name for name in classes if name not in columns]
    if missing:
        raise ToolkitError(
            f"predict error: --label-columns names {len(columns)} of the model's {len(classes)} classes "
            f"(missing: {', '.join(missing)}) — name one 0/1 column per class"
        )


def expected(file: Path | None) -> str:
    """What a data file should hold, for the message about an empty one."""
    suffix = file.suffix.lower() if file else ""
    if suffix == ".txt":
        return 'one text per line, or "text;label" lines'
    if suffix in (".csv", ".tsv"):
        return "a header naming the columns, then one row per text"
    return "one record per text"


def open_input(
    source: str,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    split: str | None = None,
    label_columns: tuple[str, ...] = (),
    separator: str | None = None,
) -> Input:
    """Resolve INPUT to its files (or Hub split); nothing is read yet.

    Args:
        source: a file, folder, glob, http(s) URL or Hub dataset id.
        text_column: the column holding the text.
        label_column: the column holding gold labels, when present; None to ignore any.
        id_column: the column holding each row's id (default: the row number).
        split: the Hub dataset split.
        label_columns: ``--label-columns``: multi-label gold as one 0/1 column per label (replaces the label column).
        separator: with ``--multi-label``, what separates the label names of a cell (``--label-separator``).

    Raises:
        ToolkitError: no such file or folder, nothing matches the glob, or an unknown split.
    """
    columns = Columns(text_column, label_column, id_column, True, label_columns, label_separator=separator)
    return resolve(source, columns, split)


def resolve(source: str, columns: Columns, split: str | None) -> Input:
    """:func:`open_input`'s files (or Hub split) of ``source``."""
    if is_url(source):
        return Input(source, columns, [download(source)], [source])
    path = Path(source).expanduser()
    if any(char in source for char in GLOB_CHARACTERS) and not path.exists():
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).suffix.lower() in FORMATS)
        if not files:
            raise ToolkitError(f"data error: {source}: no {'/'.join(FORMATS)} file matches this pattern")
        return Input(source, columns, files, [str(f) for f in files])
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)
        if not files:
            raise ToolkitError(f"data error: {source}: no data file in this folder — expected {', '.join(FORMATS)}")
        return Input(source, columns, files, [str(f) for f in files])
    if path.is_file():
        if path.suffix.lower() not in FORMATS:
            raise ToolkitError(f"data error: {source}: unsupported format — expected one of {', '.join(FORMATS)}")
        return Input(source, columns, [path], [source])
    if path.suffix.lower() in FORMATS or can_only_be_local(source):
        raise ToolkitError(f"data error: {source}: no such file or folder")
    dataset = load_hub_dataset(source, None)
    if split is None and len(dataset) > 1:
        raise ToolkitError(
            f"data error: Hub dataset '{source}' has splits {', '.join(dataset)} — pick one with --split"
        )
    split = split or next(iter(dataset))
    if split not in dataset:
        raise ToolkitError(f"data error: Hub dataset '{source}' has no split '{split}' (splits: {', '.join(dataset)})")
    return Input(source, columns, [], [], hub_split=dataset[split], where=f"{source} [{split}]")
