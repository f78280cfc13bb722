"""Read one labelled data file (or a folder of split files) into rows, before label ids exist.

Formats: ``.txt`` (``text;label`` lines, no header, split on the last ``;``), ``.csv`` / ``.tsv`` (a header
with text and label columns), ``.json`` (a list of records, or columns), ``.jsonl``, ``.parquet``
(``training.data.download`` fetches an http(s) URL to such a file). Bad data raises ``ToolkitError`` naming the
file and line (or row); every CSV the toolkit reads follows one rule, :class:`DelimitedRows`.
``training.data.load`` turns the rows into validated splits.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from training.errors import ToolkitError

FORMATS = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".parquet")
TXT_SEPARATOR = ";"  # what ends the text of a .txt line: "text;label", split on the last one
# The longest CSV/TSV field read, in characters: far above any text a classifier reads (a few thousand
# characters), far below what would exhaust memory. Python's csv module stops at 131,072 by default.
MAX_FIELD_CHARS = 10_000_000
SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "val", "valid", "dev"), "test": ("test",)}


class Row(NamedTuple):
    """One example as read, before label ids exist; ``where`` locates it for error messages."""

    text: str
    label: object  # a name (str) or an integer id, as found in the data; None when the input has no labels
    where: str  # e.g. "data/train.txt line 3"
    id: object = None  # the --id-column value (prediction only)


class Columns(NamedTuple):
    """Which fields of a record to read, and whether the label may be absent."""

    text: str
    label: str | None  # None: read texts only (every line of a .txt is one text)
    id: str | None = None
    optional_label: bool = False  # prediction: a file without the label column is read as texts only
    label_columns: tuple[str, ...] = ()  # multi-label: one 0/1 column per label (replaces ``label``)
    label_separator: str | None = None  # multi-label: what separates the names in a label cell (--label-separator)

    def check(self, found: list, name: str) -> Columns:
        """These columns, with ``label`` None when it is optional and absent; else a one-line error."""
        if self.label_columns:
            twice = next((column for column in self.label_columns if self.label_columns.count(column) > 1), None)
            if twice is not None:
                raise ToolkitError(
                    f"data error: {name}: --label-columns names '{twice}' twice ({','.join(self.label_columns)}) — "
                    "name each label's 0/1 column once"
                )
            missing = [column for column in self.label_columns if column not in found]
            if missing:
                raise ToolkitError(
                    f"data error: {name}: no column(s) {', '.join(map(repr, missing))} of --label-columns "
                    f"(columns: {', '.join(map(str, found))})"
                )
            check_columns(found, self.text, None, name, id_column=self.id)
            return self._replace(label=None)
        label = self.label if self.label in found or not self.optional_label else None
        check_columns(found, self.text, label, name, id_column=self.id)
        return self._replace(label=label)

    def fields(self) -> list[str]:
        """The record fields these columns read."""
        return [f for f in (self.text, self.label, self.id, *self.label_columns) if f]

    def row(self, record: dict, where: str) -> Row:
        """The row of one record; a text that is not a string (a number, a list...) or a null id is an error,
        never its ``repr`` or an empty text."""
        text = record[self.text]
        if text is not None and not isinstance(text, str):
            raise ToolkitError(
                f"data error: {where}: column '{self.text}' holds {type(text).__name__} {short_repr(text)} "
                "— expected a string (the text)"
            )
        label = record[self.label] if self.label else None
        if self.label_columns:
            label = [column for column in self.label_columns if flag_cell(record[column], where, column)]
        identifier = record[self.id] if self.id else None
        if self.id and identifier is None:
            raise ToolkitError(
                f"data error: {where}: column '{self.id}' is empty — every row needs its own id (--id-column), "
                "or leave --id-column out to number the rows"
            )
        return Row((text or "").strip(), label.strip() if isinstance(label, str) else label, where, identifier)


TRUE_CELLS, FALSE_CELLS = {"1", "1.0", "true"}, {"0", "0.0", "false"}


def flag_cell(value: object, where: str, column: str) -> bool:
    """A cell of a --label-columns column: 0/1 or true/false (any case); anything else is a one-line error."""
    text = str(value).strip().casefold() if value is not None else ""
    if text in TRUE_CELLS:
        return True
    if text in FALSE_CELLS:
        return False
    raise ToolkitError(
        f"data error: {where}: column '{column}' holds {short_repr(value)} — expected 0 or 1 (or true/false): "
        "one column per label with --label-columns"
    )


def short_repr(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def find_split_files(folder: Path) -> dict[str, Path]:
    """Map split names to the data files of ``folder`` (``train.txt``, ``val.csv``, ...)."""
    data_files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)
    found: dict[str, Path] = {}
    for split, aliases in SPLIT_ALIASES.items():
        matches = [p for p in data_files if p.stem.lower() in aliases]
        if len(matches) > 1:
            raise ToolkitError(
                f"data error: {folder}: several {split} files ({', '.join(p.name for p in matches)}); keep one"
            )
        if matches:
            found[split] = matches[0]
    if "train" not in found:
        if len(data_files) == 1:  # one data file with another name: split it like a single file
            return {"train": data_files[0]}
        raise ToolkitError(
            f"data error: {folder}: no train file — expected train{{{','.join(FORMATS)}}} "
            f"(with validation/val/dev and test files next to it)"
        )
    return found


def read_rows(path: Path, columns: Columns, name: str | None = None) -> tuple[list[Row], str]:
    """Read one data file into rows, with the sha256 of its bytes (read once for both).

    ``name`` replaces the path in messages (e.g. a URL).
    """
    digest = hashlib.sha256()
    rows = list(iter_rows(path, columns, name=name, digest=digest))
    return rows, digest.hexdigest()


def iter_rows(path: Path, columns: Columns, name: str | None = None, digest=None) -> Iterator[Row]:
    """Stream the rows of one data file, parsed by its format; memory does not grow with the file.

    Args:
        path: the file.
        columns: the fields to read.
        name: replaces the path in messages (e.g. a URL).
        digest: a ``hashlib`` object updated with the file's bytes as they are read.

    Raises:
        ToolkitError: bad data, naming the file and line (or row).
    """
    name = name or str(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_parquet(path, columns, name, digest)
    if suffix == ".json":  # one JSON document: read whole (use .jsonl for corpora too large for memory)
        data = path.read_bytes()
        if digest is not None:
            digest.update(data)
        return read_json(decode_utf8(data, name), columns, name)
    lines = utf8_lines(path, name, digest)
    if suffix == ".txt":
        return read_txt(lines, columns, name)
    if suffix in (".csv", ".tsv"):
        return read_delimited(lines, "\t" if suffix == ".tsv" else ",", columns, name)
    if suffix == ".jsonl":
        return read_records(read_json_lines(lines, name), columns, name)
    raise ToolkitError(f"data error: {name}: unsupported format '{suffix}' — expected one of {', '.join(FORMATS)}")


def utf8_lines(path: Path, name: str, digest=None) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 file, line endings kept; a byte-order mark is allowed."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            if digest is not None:
                digest.update(raw)
            yield number, decode_utf8(raw, name, number)


def decode_utf8(data: bytes, name: str, first_line: int = 1) -> str:
    """Decode UTF-8 (a byte-order mark is allowed) or name the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig" if first_line == 1 else "utf-8")
    except UnicodeDecodeError as err:
        line = first_line + data[: err.start].count(b"\n")
        raise ToolkitError(
            f"data error: {name} line {line}: not UTF-8 (byte 0x{data[err.start]:02x}) — save the file as UTF-8"
        ) from None


def read_txt(lines: Iterator[tuple[int, str]], columns: Columns, name: str) -> Iterator[Row]:
    """``text;label`` lines, split on the last ``;`` (the text may contain ``;`` itself).

    Texts only when ``columns.label`` is None; with ``columns.optional_label``, the first non-blank
    line decides: ``text;label`` if it has a ``;``, else one text per line. Blank lines carry no
    example in ``text;label`` files; in a file of texts they are empty texts, so that row ``i`` is
    line ``i + 1``. A multi-label cell is split on ``--label-separator`` later; a separator holding ``;``
    cannot be told from the one that ends the text, so it is refused here (docs/bad_inputs.md).
    """
    if columns.id or columns.label_columns:
        option = "--id-column" if columns.id else "--label-columns"
        raise ToolkitError(f"data error: {name}: a .txt file has no columns — {option} needs csv, json or parquet")
    if columns.label is not None and TXT_SEPARATOR in (columns.label_separator or ""):
        raise ToolkitError(
            f"data error: {name}: --label-separator {columns.label_separator!r} cannot work in a .txt file, whose "
            f'lines are "text;label" split on the last \'{TXT_SEPARATOR}\' ("so happy;joy;love" would be the text '
            '"so happy;joy" with the label \'love\') — write the set with commas ("so happy;joy,love", the default '
            "--label-separator), or use a .csv or .jsonl"
        )
    labelled = columns.label is not None
    decided = not columns.optional_label or not labelled  # --no-labels: every line is one text, ';' included
    blank: list[int] = []  # blank lines before the first non-blank one decides
    for number, line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            if not labelled:
                yield Row("", None, f"{name} line {number}")
            elif not decided:
                blank.append(number)
            continue
        if not decided:
            labelled, decided = TXT_SEPARATOR in line, True
            if not labelled:
                yield from (Row("", None, f"{name} line {n}") for n in blank)
        if not labelled:
            yield Row(line.strip(), None, f"{name} line {number}")
            continue
        if TXT_SEPARATOR not in line:
            hint = " as on its first line (one text per line: pass --no-labels)" if columns.optional_label else ""
            raise ToolkitError(f"data error: {name} line {number}: no ';' separator — expected \"text;label\"{hint}")
        text_part, label = line.rsplit(TXT_SEPARATOR, 1)
        yield Row(text_part.strip(), label.strip(), f"{name} line {number}")


def read_delimited(lines: Iterator[tuple[int, str]], delimiter: str, columns: Columns, name: str) -> Iterator[Row]:
    """A CSV or TSV file with a header row naming the text and label columns, read by :class:`DelimitedRows`."""
    table = DelimitedRows((line for _, line in lines), name, delimiter)
    columns = columns.check(table.header, name)
    for record, where in table.records():
        yield columns.row(record, where)


class DelimitedRows:
    """The one rule for reading a CSV or TSV, wherever the toolkit reads one (data files, predict's input, flag
    exports, review and ``training.ask`` sheets): a header row, then rows of exactly the header's fields.

    A row with more fields than the header is what a person types into a sheet (``i love this,joy,love``, a text
    with an unquoted comma): it is refused in one line naming the file, the line and the quoting fix, never
    cut to the header's width in silence. CSV quotes fields that hold a comma or a line break (RFC 4180). TSV
    follows its own convention: tabs separate the fields, a line is a row, and quotes are ordinary characters
    (``"quoted" she said`` stays as written, an unclosed ``"`` cannot swallow the lines after it).

    Args:
        lines: the file's lines, line endings kept (a quoted CSV field may span lines).
        name: the file as messages name it.
        delimiter: ``,`` or a tab.
        prefix: how messages start (``data error``, ``corrections error``).

    Raises:
        ToolkitError: a row with another number of fields than the header, broken quoting, a field over
            :data:`MAX_FIELD_CHARS` characters; the message names the file and line.
    """

    def __init__(self, lines: Iterable[str], name: str, delimiter: str = ",", prefix: str = "data error") -> None:
        csv.field_size_limit(MAX_FIELD_CHARS)
        self.name, self.prefix, self.tsv = name, prefix, delimiter == "\t"
        quoting = csv.QUOTE_NONE if self.tsv else csv.QUOTE_MINIMAL
        self.reader = csv.reader(lines, delimiter=delimiter, quoting=quoting)
        with self.one_line():
            self.header: list[str] = next(self.reader, [])

    def records(self) -> Iterator[tuple[dict[str, str], str]]:
        """Each row as ``(record, where)``: the header's names to the row's cells, and "FILE line N"; blank lines
        are skipped."""
        with self.one_line():
            for fields in self.reader:
                if not fields:  # a blank line
                    continue
                where = f"{self.name} line {self.reader.line_num}"
                if len(fields) != len(self.header):
                    raise ToolkitError(field_count_error(where, len(fields), self.header, self.tsv, self.prefix))
                yield dict(zip(self.header, fields, strict=True)), where

    @contextlib.contextmanager
    def one_line(self):
        """Turn the csv module's terse errors into the one line naming the file and line."""
        try:
            yield
        except csv.Error as err:
            raise ToolkitError(f"{self.prefix}: {self.name} line {self.reader.line_num}: {csv_problem(err)}") from None


def field_count_error(where: str, count: int, header: list[str], tsv: bool, prefix: str = "data error") -> str:
    """The message for a row with more or fewer fields than the header."""
    hint = (
        "a text may not contain a tab in a .tsv file"
        if tsv
        else 'put a cell that contains a comma in double quotes ("well, i feel happy today", "joy,love")'
    )
    return f"{prefix}: {where}: {count} field(s), but the header has {len(header)} ({', '.join(header)}) — {hint}"


def csv_problem(err: csv.Error) -> str:
    """What a csv.Error means for the user (the module's own words are terse)."""
    if "field larger than field limit" in str(err):
        return f"a field longer than {MAX_FIELD_CHARS:,} characters — expected texts of sane length"
    return f"not valid CSV ({err}) — check the quotes on this line"


def read_json(text: str, columns: Columns, name: str) -> Iterator[Row]:
    """A JSON list of records, a JSON object of columns, or JSON Lines (one record per line)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None  # not one JSON document: JSON Lines
    if isinstance(data, dict) and not all(isinstance(v, list) for v in data.values()):
        data = [data]  # one record (a one-line JSON Lines file)
    if isinstance(data, dict):  # columns: {"text": [...], "label": [...]}
        columns = columns.check(list(data), name)
        fields = columns.fields()
        records = (dict(zip(fields, values, strict=True)) for values in zip(*(data[f] for f in fields), strict=True))
        return (columns.row(record, f"{name} row {i}") for i, record in enumerate(records))
    if isinstance(data, list):
        return read_records(((record, f"{name} record {i}") for i, record in enumerate(data)), columns, name)
    return read_records(read_json_lines(enumerate(text.splitlines(), start=1), name), columns, name)


def read_json_lines(lines, name: str) -> Iterator[tuple[object, str]]:
    """``(record, where)`` of JSON Lines; blank lines skipped."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line), f"{name} line {number}"
        except json.JSONDecodeError as err:
            raise ToolkitError(
                f"data error: {name} line {number}: not valid JSON ({err.msg}) — expected one object per line"
            ) from None


def read_records(records, columns: Columns, name: str) -> Iterator[Row]:
    """Rows of JSON records; each must be an object with the columns (the first decides an optional label)."""
    checked = None
    for record, where in records:
        if not isinstance(record, dict):
            raise ToolkitError(f"data error: {where}: expected an object with '{columns.text}' and '{columns.label}'")
        if checked is None:
            checked = columns.check(list(record), where)
        check_columns(list(record), checked.text, checked.label, where, id_column=checked.id)
        yield checked.row(record, where)


def read_parquet(path: Path, columns: Columns, name: str, digest=None) -> Iterator[Row]:
    """A Parquet table, read a row group at a time; rows are numbered from 0 as in pandas / datasets."""
    import pyarrow.parquet as pq

    if digest is not None:  # the file's bytes, hashed in blocks
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    parquet = pq.ParquetFile(path)
    columns = columns.check(parquet.schema_arrow.names, name)
    fields = columns.fields()
    number = 0
    for batch in parquet.iter_batches(columns=fields):
        for record in batch.to_pylist():
            yield columns.row(record, f"{name} row {number}")
            number += 1


def check_columns(
    columns: list[str], text_column: str, label_column: str | None, name: str, id_column: str | None = None
) -> None:
    """A one-line error naming the option to set when a needed column is missing (None: not needed)."""
    for column, option in (
        (text_column, "--text-column"),
        (label_column, "--label-column"),
        (id_column, "--id-column"),
    ):
        if column is not None and column not in columns:
            raise ToolkitError(
                f"data error: {name}: no column '{column}' (columns: {', '.join(map(str, columns))}) — set {option}"
            )
