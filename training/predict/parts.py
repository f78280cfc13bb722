"""The output file: its columns, the shards it is written in, and the manifest that makes a run resumable.

Columns, one row per input row in input order (the layout ``pandas.read_parquet`` gives as a flat table):

- ``id``: the ``--id-column`` value (as text), else the row number in the input (int64, from 0);
- ``label``: the predicted class; ``score``: its probability (single-label models);
- ``labels``: the predicted set, a list of label names in the model's label order, possibly empty
  (multi-label models, instead of ``label`` and ``score``: a set has no one label, and each label's
  probability is its own column);
- ``prob_<class>``: the probability of each class, in the model's label order (a softmax; for a
  multi-label model each label's sigmoid, and a label is in ``labels`` iff it reaches its threshold);
- ``text`` with ``--keep-text``.

In CSV, the ``labels`` set is one cell, its names joined by ``;`` (as in a multi-label ``errors.csv``;
an empty set is an empty cell); parquet has a ``list<string>`` column, JSON lines a JSON list. In CSV, a
text cell (``id``, ``label``, ``labels``, ``text``) that a spreadsheet would run as a formula (it starts with
``=``, ``+``, ``-``, ``@``, tab or CR, after any apostrophes) gets a leading apostrophe, the rule of the
flag export (space/flags.py); parquet and JSON lines keep every text exactly.

An empty text keeps its row, with ``label``, ``score`` (or ``labels``) and the probabilities null.

While a run goes, shard ``k`` (rows ``k*S .. (k+1)*S-1``) is written to ``OUT.parts/part-0000k.<ext>`` under
a temporary name and renamed when complete, and only then is ``part-0000k.json`` (its counts) written the
same way: a shard is done iff its ``.json`` exists, so a killed run can never leave a half-written shard
that counts. ``manifest.json`` records the command; a restart of the same command skips the done shards;
another command, another input (its bytes' sha256), other model weights or (multi-label) other thresholds
are refused, or with ``--overwrite`` the parts are discarded and the run starts over. At the end the main
process concatenates the shards into ``OUT`` (temporary name, then rename) and removes ``OUT.parts/``.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from functools import reduce
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from formats.flag_record import FORMULA_START, SET_SEPARATOR  # the flag export's cell rules, shared
from formats.output_folder import write_json
from formats.writing import write_refusal
from training.errors import ToolkitError

OUTPUT_FORMATS = (".parquet", ".csv", ".jsonl")
MANIFEST = "manifest.json"
# What each content fingerprint of the manifest's command is, for the message when it changed.
CONTENT = {
    "input": "the input",
    "weights": "the model's weights",
    "labels": "the model's classes",
    "thresholds": "the model's thresholds (label_thresholds in its config.json)",
}


def output_format(out: Path) -> str:
    """The format of ``out`` from its extension, or a one-line error (also for an existing folder)."""
    if out.is_dir():
        raise ToolkitError(
            f"predict error: --output {out}: is a folder — expected a file name ending in {', '.join(OUTPUT_FORMATS)}"
        )
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ToolkitError(
            f"predict error: --output {out}: unsupported extension '{suffix}' — expected {', '.join(OUTPUT_FORMATS)}"
        )
    return suffix


def output_schema(labels: list[str], ids_are_text: bool, keep_text: bool, multi_label: bool = False) -> pa.Schema:
    """The output's columns and types (fixed, so that every shard has the same schema)."""
    predicted = (
        [pa.field("labels", pa.list_(pa.string()))]
        if multi_label
        else [pa.field("label", pa.string()), pa.field("score", pa.float32())]
    )
    fields = [
        pa.field("id", pa.string() if ids_are_text else pa.int64()),
        *predicted,
        *(pa.field(f"prob_{name}", pa.float32()) for name in labels),
    ]
    if keep_text:
        fields.append(pa.field("text", pa.string()))
    return pa.schema(fields)


def shard_table(
    schema: pa.Schema, labels: list[str], ids: list, texts: list[str], probs: np.ndarray, thresholds=None
) -> pa.Table:
    """One shard's output rows.

    Args:
        schema: from :func:`output_schema`.
        labels: class names in id order.
        ids: each row's id.
        texts: each row's text; empty ones get null predictions.
        probs: ``(non-empty texts, classes)`` probabilities, in row order.
        thresholds: a multi-label model's threshold of each label (the schema has ``labels``).
    """
    filled = np.fromiter((bool(t) for t in texts), dtype=bool, count=len(texts))
    full = np.full((len(texts), len(labels)), np.nan, dtype=np.float32)
    full[filled] = probs
    null = ~filled
    multi_label = "labels" in schema.names
    predicted = label_sets(full, labels, thresholds, null) if multi_label else best_class(full, labels, filled)
    columns = [
        pa.array(ids, type=schema.field("id").type),
        *predicted,
        *(pa.array(full[:, i], mask=null) for i in range(len(labels))),
    ]
    if "text" in schema.names:
        columns.append(pa.array(texts, type=pa.string()))
    return pa.Table.from_arrays(columns, schema=schema)


def best_class(full: np.ndarray, labels: list[str], filled: np.ndarray) -> list[pa.Array]:
    """``label`` and ``score``: each row's most probable class and its probability (null for an empty text)."""
    score = np.full(len(full), np.nan, dtype=np.float32)
    predicted = np.full(len(full), None, dtype=object)
    if filled.any():
        probs = full[filled]
        best = probs.argmax(axis=1)
        score[filled] = probs[np.arange(len(probs)), best]
        predicted[filled] = np.asarray(labels, dtype=object)[best]
    return [pa.array(predicted, type=pa.string()), pa.array(score, mask=~filled)]


def label_sets(full: np.ndarray, labels: list[str], thresholds, null: np.ndarray) -> list[pa.Array]:
    """``labels``: each row's predicted set, the labels at or above their threshold in label order (null for an
    empty text, whose probabilities are NaN and so reach no threshold)."""
    from training.predict.sets import predicted

    chosen = predicted(full, thresholds)
    offsets = np.zeros(len(full) + 1, dtype=np.int32)
    np.cumsum(chosen.sum(axis=1), out=offsets[1:])
    names = np.asarray(labels, dtype=object)[np.nonzero(chosen)[1]]  # row by row, each row in label order
    sets = pa.ListArray.from_arrays(pa.array(offsets), pa.array(names, type=pa.string()), mask=pa.array(null))
    return [sets]


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` to ``path`` as parquet (one row group), csv (with a header) or JSON lines."""
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path, row_group_size=max(1, table.num_rows))
    elif fmt == ".csv":
        columns = [one_cell(column) for column in table.columns]
        columns = [neutralised(column) if column.type == pa.string() else column for column in columns]
        pa.Table.from_arrays(columns, names=table.schema.names).to_pandas().to_csv(path, index=False)
    else:
        table.to_pandas().to_json(path, orient="records", lines=True, force_ascii=False)


def one_cell(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A list column (a predicted set) as text, its names joined by ``;`` (CSV only); other columns as they are."""
    if pa.types.is_list(column.type):
        return pc.binary_join(column, SET_SEPARATOR)
    return column


def neutralised(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text cells a spreadsheet would run as formulas, with a leading apostrophe (CSV only).

    The flag export's rule (``csv_cell`` in space/flags.py): a cell that starts with a formula start after
    any apostrophes gets one more, so that taking exactly one off always gives the text back.
    """
    bare = pc.utf8_ltrim(column, characters="'")
    risky = reduce(pc.or_, (pc.starts_with(bare, start) for start in FORMULA_START))
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


@contextmanager
def atomic(path: Path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only when the block succeeds."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomically(path: Path, content: dict) -> None:
    """:func:`formats.output_folder.write_json` (the one JSON writer) to a temporary name, renamed when complete."""
    with atomic(path) as tmp:
        write_json(tmp, content)


class Parts:
    """The shard folder ``OUT.parts/`` of one run: manifest, done shards, and the final merge."""

    def __init__(self, out: Path):
        self.out = out
        self.fmt = output_format(out)
        self.folder = out.with_name(out.name + ".parts")

    def file(self, shard: int, suffix: str) -> Path:
        return self.folder / f"part-{shard:05d}{suffix}"

    def start(self, command: dict, overwrite: bool) -> None:
        """Create the folder and manifest, or check that an existing one was started by ``command``.

        Called by the main process only. Raises ``ToolkitError`` when ``OUT`` exists (without
        ``overwrite``), or the parts were written by another command, from another input or with other
        weights (``overwrite`` discards them and starts over).
        """
        manifest = self.folder / MANIFEST
        if manifest.is_file():
            problem = mismatch(json.loads(manifest.read_text(encoding="utf-8"))["command"], command, self.folder)
            if problem is None:
                return
            if not overwrite:
                raise ToolkitError(problem)
            shutil.rmtree(self.folder)
        elif refusal := write_refusal(self.out, "--output", overwrite=overwrite):
            raise ToolkitError(f"predict error: {refusal}")
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomically(manifest, {"command": command})

    def done(self, shard: int) -> bool:
        return self.file(shard, ".json").is_file()

    def save(self, shard: int, table: pa.Table, counts: dict) -> None:
        """Write one shard's rows, then its counts: the counts file is what marks the shard done."""
        with atomic(self.file(shard, self.fmt)) as tmp:
            write_table(table, tmp, self.fmt)
        release_arrow_memory()
        write_json_atomically(self.file(shard, ".json"), counts)

    def counts(self, shard: int) -> dict:
        return json.loads(self.file(shard, ".json").read_text(encoding="utf-8"))

    def finish(self, shards: int) -> list[dict]:
        """Concatenate shards ``0..shards-1`` into ``OUT`` (atomically), remove the folder; their counts."""
        missing = [k for k in range(shards) if not self.done(k)]
        if missing:  # a bug, or a rank that failed: never write an output with rows missing
            raise ToolkitError(f"predict error: shards {missing[:5]} of {self.folder} are not done — run again")
        counts = [self.counts(k) for k in range(shards)]
        with atomic(self.out) as tmp:
            concatenate([self.file(k, self.fmt) for k in range(shards)], tmp, self.fmt)
        shutil.rmtree(self.folder)
        return counts


def mismatch(saved: dict, command: dict, folder: Path) -> str | None:
    """Why the parts in ``folder`` (made by ``saved``) cannot be resumed by ``command``; None when they can."""
    changed = sorted(key for key in {*saved, *command} if saved.get(key) != command.get(key))
    options = [key for key in changed if key not in CONTENT]
    if options:
        return (
            f"predict error: {folder} holds parts of another command ({', '.join(options)} differ) "
            "— run that command again to resume it, or pass --overwrite to start over"
        )
    if not changed:
        return None
    what = " and ".join(changed_content(key, saved.get(key), command.get(key)) for key in changed)
    return (
        f"predict error: {folder} holds parts written before {what} — resuming would mix old and new rows; "
        "pass --overwrite to start over"
    )


def changed_content(key: str, old, new) -> str:
    """``the input tweets.txt changed (its content differs)``: one content fingerprint that differs."""
    if key == "input" and isinstance(old, dict) and isinstance(new, dict) and "hub" not in new:
        names = sorted(name for name in {*old, *new} if old.get(name) != new.get(name))
        return f"the input {', '.join(names)} changed (its content differs)"
    if key == "weights" and isinstance(new, dict):
        return f"the model's weights {', '.join(new['files'])} changed (their sha256 differs)"
    return f"{CONTENT[key]} changed"


def concatenate(files: list[Path], target: Path, fmt: str) -> None:
    """Join shard files in order: parquet row groups, csv under one header, JSON lines as they are."""
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(target, pq.read_schema(files[0])) as writer:
            for file in files:  # one row group (one shard) in memory at a time
                with pq.ParquetFile(file) as shard:
                    for group in range(shard.num_row_groups):
                        writer.write_table(shard.read_row_group(group))
                release_arrow_memory()
        return
    with open(target, "wb") as sink:
        for number, file in enumerate(files):
            with open(file, "rb") as source:
                if fmt == ".csv" and number:
                    source.readline()  # the header, already written by the first shard
                shutil.copyfileobj(source, sink)


def release_arrow_memory() -> None:
    """Hand the memory Arrow's allocator keeps for reuse back to the system (docs/predict_memory.md)."""
    pa.default_memory_pool().release_unused()
