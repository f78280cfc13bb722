"""Read one labelled data file (or a folder of split files) into rows, before label ids exist.

Formats: ``.txt`` (``text;label`` lines, no header, split on the last ``;``), ``.csv`` / ``.tsv`` (a header
with text and label columns), ``.json`` (a list of records, or columns), ``.jsonl``, ``.parquet``; an http(s)
URL to such a file is downloaded once into the user cache. Bad data raises ``ToolkitError`` naming the file
and line (or row). ``training.data`` turns the rows into validated splits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NamedTuple

from training.errors import HubUnavailable, ToolkitError

FORMATS = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".parquet")
SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "val", "valid", "dev"), "test": ("test",)}


class Row(NamedTuple):
    """One example as read, before label ids exist; ``where`` locates it for error messages."""

    text: str
    label: object  # a name (str) or an integer id, as found in the data
    where: str  # e.g. "data/train.txt line 3"


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


def read_rows(path: Path, text_column: str, label_column: str, name: str | None = None) -> tuple[list[Row], str]:
    """Read one data file into rows, with the sha256 of its bytes (read once for both).

    ``name`` replaces the path in messages (e.g. a URL).
    """
    name = name or str(path)
    data = path.read_bytes()
    return parse_rows(data, path.suffix.lower(), text_column, label_column, name), hashlib.sha256(data).hexdigest()


def parse_rows(data: bytes, suffix: str, text_column: str, label_column: str, name: str) -> list[Row]:
    """The rows of a data file's bytes, parsed by its format (``suffix``)."""
    if suffix == ".parquet":
        return read_parquet(data, text_column, label_column, name)
    text = decode_utf8(data, name)
    if suffix == ".txt":
        return read_txt(text, name)
    if suffix in (".csv", ".tsv"):
        return read_delimited(text, "\t" if suffix == ".tsv" else ",", text_column, label_column, name)
    if suffix in (".json", ".jsonl"):
        return read_json(text, text_column, label_column, name)
    raise ToolkitError(f"data error: {name}: unsupported format '{suffix}' — expected one of {', '.join(FORMATS)}")


def decode_utf8(data: bytes, name: str) -> str:
    """Decode UTF-8 (a byte-order mark is allowed) or name the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ToolkitError(
            f"data error: {name} line {line}: not UTF-8 (byte 0x{data[err.start]:02x}) — save the file as UTF-8"
        ) from None


def read_txt(text: str, name: str) -> list[Row]:
    """``text;label`` lines; the text may contain ``;`` itself, so split on the last one."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (a trailing newline, a gap) carry no example
        if ";" not in line:
            raise ToolkitError(f"data error: {name} line {number}: no ';' separator — expected \"text;label\"")
        text_part, label = line.rsplit(";", 1)
        rows.append(Row(text_part.strip(), label.strip(), f"{name} line {number}"))
    return rows


def read_delimited(text: str, delimiter: str, text_column: str, label_column: str, name: str) -> list[Row]:
    """A CSV/TSV file with a header row naming the text and label columns."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    check_columns(reader.fieldnames or [], text_column, label_column, name)
    return [
        Row((record[text_column] or "").strip(), (record[label_column] or "").strip(), f"{name} line {reader.line_num}")
        for record in reader
    ]


def read_json(text: str, text_column: str, label_column: str, name: str) -> list[Row]:
    """A JSON list of records, a JSON object of columns, or JSON Lines (one record per line)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None  # not one JSON document: JSON Lines
    if isinstance(data, dict) and not all(isinstance(v, list) for v in data.values()):
        data = [data]  # one record (a one-line JSON Lines file)
    if isinstance(data, dict):  # columns: {"text": [...], "label": [...]}
        check_columns(list(data), text_column, label_column, name)
        return [
            Row(str(t).strip(), lab, f"{name} row {i}")
            for i, (t, lab) in enumerate(zip(data[text_column], data[label_column], strict=True))
        ]
    if isinstance(data, list):
        records = [(record, f"{name} record {i}") for i, record in enumerate(data)]
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((json.loads(line), f"{name} line {number}"))
            except json.JSONDecodeError as err:
                raise ToolkitError(
                    f"data error: {name} line {number}: not valid JSON ({err.msg}) — expected one object per line"
                ) from None
    rows = []
    for record, where in records:
        if not isinstance(record, dict):
            raise ToolkitError(f"data error: {where}: expected an object with '{text_column}' and '{label_column}'")
        check_columns(list(record), text_column, label_column, where)
        rows.append(Row(str(record[text_column] or "").strip(), record[label_column], where))
    return rows


def read_parquet(data: bytes, text_column: str, label_column: str, name: str) -> list[Row]:
    """A Parquet table; rows are numbered from 0 as in pandas / datasets."""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    check_columns(table.column_names, text_column, label_column, name)
    texts, labels = table.column(text_column).to_pylist(), table.column(label_column).to_pylist()
    return [
        Row(str(t or "").strip(), lab, f"{name} row {i}") for i, (t, lab) in enumerate(zip(texts, labels, strict=True))
    ]


def check_columns(columns: list[str], text_column: str, label_column: str, name: str) -> None:
    for column, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if column not in columns:
            raise ToolkitError(
                f"data error: {name}: no column '{column}' (columns: {', '.join(map(str, columns))}) — set {option}"
            )


def download(url: str) -> Path:
    """Download ``url`` once into the user cache; the file keeps the URL's name (its format).

    The bytes go to a temporary file beside the target, renamed over it when complete: a process that
    finds the target (another rank, another machine on a shared cache) never reads a partial file.
    """
    file_name = Path(urllib.parse.urlparse(url).path).name
    if Path(file_name).suffix.lower() not in FORMATS:
        raise ToolkitError(f"data error: {url}: the URL must end in a file name with one of {', '.join(FORMATS)}")
    target = Path.home() / ".cache" / "emotion-toolkit" / hashlib.sha256(url.encode()).hexdigest()[:16] / file_name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as err:
            raise HubUnavailable(f"data error: cannot download {url}: {err}") from None
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{file_name}.", delete=False) as partial:
            partial.write(data)
        os.replace(partial.name, target)  # atomic on one file system
    return target
