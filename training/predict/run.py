"""Label a corpus: stream the input in shards, predict each, write it atomically; torchrun-aware.

Every process reads (and validates) the whole input, but labels only its own shards: shard ``k``
belongs to rank ``k % world_size``. Shards are cut by row number, never by rank, so the output does
not depend on how many processes made it, and a run can be resumed with another number of them.
The main process takes the output's lock and writes the manifest first and, once every rank is done, the
output and metrics; the summary adds up the shards every rank labelled in this run.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa

from training.data.labels import multi_hot
from training.data.options import reading_field
from training.distributed import init_processes
from training.errors import ToolkitError
from training.predict.engine import Engine
from training.predict.guard import lock_output, prepare_targets, refuse_targets, weights_fingerprint
from training.predict.inputs import open_input
from training.predict.model import load_engine
from training.predict.parts import Parts, output_schema, shard_table, write_json_atomically
from training.predict.sets import multi_label_summary, shard_counts
from training.quality.evaluate import metrics_from_confusion

METRICS_FILE = "predict_metrics.json"


@dataclass(frozen=True)
class PredictOptions:
    """What ``python -m training.predict`` was asked (see its ``--help`` for each option)."""

    model: str
    input: str
    output: str
    revision: str | None = None
    split: str | None = None
    text_column: str = reading_field("text_column")
    label_column: str = reading_field("label_column")
    id_column: str | None = None
    no_labels: bool = False
    keep_text: bool = False
    backend: str = "auto"
    batch_size: int | None = None
    shard_size: int = 50_000
    threads: int | None = None
    overwrite: bool = False
    metrics: str | None = None
    progress: bool = True
    label_columns: str | None = reading_field("label_columns")
    multi_label: bool = reading_field("multi_label")
    label_separator: str = reading_field("label_separator")

    def command(self, backend: str) -> dict:
        """What the output depends on: a resumed run must match it (threads, batch size, progress do not)."""
        same_output = ("model", "revision", "split", "text_column", "label_column", "id_column", "no_labels")
        command = {**{key: getattr(self, key) for key in same_output}, "keep_text": self.keep_text, "backend": backend}
        # The multi-label reading options only when given: a command of an earlier version still resumes.
        if self.label_columns:
            command["label_columns"] = self.label_columns
        if self.multi_label:
            command.update(multi_label=True, label_separator=self.label_separator)
        return command

    def multi_label_options(self) -> list[str]:
        """The options given that read multi-label gold sets, as spelled on the command line."""
        given = (("--label-columns", self.label_columns), ("--multi-label", self.multi_label))
        return [option for option, value in given if value]


def cpu_budget() -> int:
    """CPUs this process may use (its affinity mask, not the host's core count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def predict_corpus(options: PredictOptions) -> dict | None:
    """Label ``options.input`` with ``options.model`` into ``options.output``.

    Returns:
        On the main process, the summary (also in ``predict_metrics.json`` when the input is
        labelled): counts, seconds, texts/s, backend, and the metrics; None on the other processes.

    Raises:
        ToolkitError: bad model, input or output, another run writing the same output, on every process alike.
    """
    import torch

    # Which process this is under torchrun / accelerate (one process otherwise), on CPU (gloo) or CUDA.
    state = init_processes("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(options.output)
    parts = Parts(out)  # checks the extension (and that it is not a folder) before anything is read
    metrics = Path(options.metrics) if options.metrics else out.with_name(METRICS_FILE)
    if metrics.is_dir():
        where = f"--metrics {metrics}" if options.metrics else f"{metrics} (where the metrics go; see --metrics)"
        raise ToolkitError(f"predict error: {where}: is a folder — expected a file name")
    targets = {"--output": out, **({"--metrics": metrics} if options.metrics else {})}
    main_only(state, lambda: prepare_targets(targets))  # their folders: nothing is lost at the end
    lock = main_only(state, lambda: lock_output(out))  # one run per output; None on the other processes
    try:
        return label_corpus(options, state, parts, targets, metrics)
    finally:
        if lock is not None:
            lock.release()


def label_corpus(options: PredictOptions, state, parts: Parts, targets: dict, metrics: Path) -> dict | None:
    """:func:`predict_corpus` once the output is this run's: the model, the input, the shards, the summary."""
    data = read_as_told(options, options.input, labels=not options.no_labels)
    refuse_targets(targets, data.files, options.overwrite)  # before any slow work
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    threads = options.threads or max(1, cpu_budget() // local_processes)
    loading = time.perf_counter()
    engine, note = load_engine(
        options.model,
        revision=options.revision,
        backend=options.backend,
        batch_size=options.batch_size,
        threads=threads,
        device=str(state.device),
        gold_set_options=options.multi_label_options(),
    )
    loading = time.perf_counter() - loading
    if note and state.is_main_process:
        print(note)
    # The whole input, validated (and hashed) before any slow work.
    count, labelled = data.scan(engine.labels, engine.multi_label)
    shards = math.ceil(count / options.shard_size)
    command = {**options.command(engine.backend), "shard_size": options.shard_size, "labels": engine.labels}
    if engine.multi_label:  # they decide every predicted set: a resumed run must use the same
        command["thresholds"] = dict(zip(engine.labels, engine.thresholds, strict=True))

    def start() -> list[int]:  # the shards this run labels, on all processes (none has started yet)
        fingerprints = {"input": data.fingerprint(), "weights": weights_fingerprint(engine.weights)}
        parts.start({**command, **fingerprints}, options.overwrite)
        return [k for k in range(shards) if not parts.done(k)]

    pending = main_only(state, start)
    mine = [k for k in range(state.process_index, shards, state.num_processes) if not parts.done(k)]
    todo = sum(min(options.shard_size, count - k * options.shard_size) for k in mine)
    schema = output_schema(
        engine.labels, options.id_column is not None, keep_text=options.keep_text, multi_label=engine.multi_label
    )
    started = time.perf_counter()
    with progress_bar(
        todo, count - todo if state.num_processes == 1 else 0, options.progress and state.is_main_process
    ) as bar:
        for shard, rows in numbered_shards(data.rows(), options.shard_size):
            if shard in mine:
                label_shard(engine, parts, shard, rows, shard * options.shard_size, schema, data if labelled else None)
                bar.update(len(rows))
    engine.close()
    state.wait_for_everyone()
    if not state.is_main_process:
        return None
    seconds = time.perf_counter() - started  # the whole job's: every rank is done
    counts = parts.finish(shards)
    labelled_now = sum(counts[k]["rows"] for k in pending)  # by every rank, from their shards' counts
    summary = summarize(counts, engine, labelled, labelled_now, seconds, state.num_processes)
    summary["load_seconds"] = round(loading, 2)
    if labelled:
        write_json_atomically(metrics, summary)
    return summary


def read_as_told(options, source: str, labels: bool):
    """``source`` opened with the reading options of ``options`` (a ``PredictOptions``, or ``training.ask``'s
    options, which share them): columns, Hub split, and gold labels in any layout when ``labels``."""
    return open_input(
        source,
        text_column=options.text_column,
        label_column=options.label_column if labels else None,
        id_column=options.id_column,
        split=options.split,
        label_columns=tuple(options.label_columns.split(",")) if options.label_columns else (),
        separator=options.label_separator if options.multi_label else None,
    )


def main_only(state, action):
    """Run ``action`` on the main process and return what it returns there (None on the others); a
    ``ToolkitError`` it raises is raised on every process."""
    from accelerate.utils import broadcast_object_list

    message, result = [None], None
    if state.is_main_process:
        try:
            result = action()
        except ToolkitError as error:
            message = [str(error)]
    if state.num_processes > 1:
        broadcast_object_list(message, from_process=0)  # also the barrier: nobody labels before the manifest
    if message[0]:
        raise ToolkitError(message[0])
    return result


def numbered_shards(rows, size: int):
    """``(k, rows of shard k)`` over an iterator of rows, ``size`` rows per shard (the last may be shorter)."""
    for shard in range(1 << 62):
        chunk = list(islice(rows, size))
        if not chunk:
            return
        yield shard, chunk


def label_shard(engine: Engine, parts: Parts, shard: int, rows: list, first: int, schema, gold_from) -> None:
    """Predict one shard's non-empty texts, and save its rows and counts.

    ``gold_from``: the input when it is labelled (it reads a row's gold set), else None.
    """
    texts = [row.text for row in rows]
    filled = [i for i, text in enumerate(texts) if text]
    probs, truncated = engine.probabilities([texts[i] for i in filled])
    ids = [str(row.id) for row in rows] if schema.field("id").type == pa.string() else range(first, first + len(rows))
    counts = {"rows": len(rows), "empty": len(rows) - len(filled), "truncated": truncated}
    classes = len(engine.labels)
    if gold_from and engine.multi_label:  # counts, not rows: the metrics of any input from fixed-size parts
        ids_of = {name: i for i, name in enumerate(engine.labels)}
        gold = multi_hot([[ids_of[name] for name in gold_from.gold_set(rows[i])] for i in filled], classes)
        counts["label_sets"] = shard_counts(gold, probs, engine.thresholds)
    elif gold_from:
        gold = np.array([engine.labels.index(str(rows[i].label)) for i in filled], dtype=np.int64)
        cells = np.bincount(gold * classes + probs.argmax(axis=1), minlength=classes * classes)
        counts["confusion_matrix"] = cells.reshape(classes, classes).tolist()
    table = shard_table(schema, engine.labels, list(ids), texts, probs, engine.thresholds)
    parts.save(shard, table, counts)


def summarize(
    counts: list[dict], engine: Engine, labelled: bool, labelled_now: int, seconds: float, processes: int = 1
) -> dict:
    """Totals over all shards, this run's speed (all its processes together), the metrics when labelled, and
    a one-line summary."""
    totals = {key: sum(c[key] for c in counts) for key in ("rows", "empty", "truncated")}
    summary: dict = {**totals, "labelled_in_this_run": labelled_now, "processes": processes}
    summary.update(backend=engine.name, seconds=round(seconds, 2))
    summary["texts_per_second"] = round(labelled_now / seconds, 1) if seconds else None
    on = f" on {processes} processes" if processes > 1 else ""
    line = (
        f"labelled {totals['rows']:,} rows with {engine.name}"
        f" ({labelled_now:,} in this run{on}: {seconds:.1f} s, {summary['texts_per_second'] or 0:,.0f} texts/s);"
        f" {totals['empty']:,} empty texts (no prediction),"
        f" {totals['truncated']:,} truncated to {engine.max_length} tokens"
    )
    if labelled and engine.multi_label:
        metrics, said = multi_label_summary([c["label_sets"] for c in counts], engine.labels, engine.thresholds)
        summary.update(metrics)
        line += said
    elif labelled:
        matrix = np.sum([c["confusion_matrix"] for c in counts], axis=0)
        if matrix.sum():
            summary.update(metrics_from_confusion(matrix, engine.labels))
            line += (
                f"; accuracy {summary['accuracy']:.2%}, macro F1 {summary['f1_macro']:.2%}"
                f" on {int(matrix.sum()):,} labelled texts"
            )
    summary["summary"] = line
    return summary


def progress_bar(total: int, already: int, enabled: bool):
    """A tqdm bar over texts with texts/s and ETA (on stderr); ``already``: rows done by an earlier run."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total + already, initial=already, unit=" texts", desc="predict", disable=not enabled, smoothing=0.05
    )
