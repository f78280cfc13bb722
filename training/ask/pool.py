"""POOL as ``training.ask`` sees it: the work file ``training.predict`` wrote, read back in batches.

The work file has one row per POOL row, in POOL's order: ``id``, ``text`` (``--keep-text``) and
``prob_<class>`` for every class. It is read twice, never whole: once to score every row that may be asked
(:func:`scan`), then only the row groups holding the rows a strategy looks at (:func:`rows_at`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from formats.flag_record import text_key
from training.ask.balanced import groups
from training.ask.known import REASONS, Known, key_hash
from training.ask.ranking import uncertainty

EMPTY, DUPLICATE = "empty", "repeated in POOL"  # reasons beside known.REASONS
SCAN_BATCH = 65_536  # rows read at a time


@dataclass
class Pool:
    """What may be asked: the row numbers of the eligible rows and their uncertainty, and what was skipped."""

    size: int  # every row of POOL
    rows: np.ndarray  # eligible row numbers, in POOL order
    scores: np.ndarray  # their uncertainty under the strategy
    skipped: Counter  # reason -> rows
    classes: np.ndarray | None = None  # their group of ``balanced``'s quotas (predicted class; multi-label:
    # the label nearest its threshold)

    def skipped_line(self) -> str:
        """``1,310 skipped: 1,000 in the training data, 300 in validation/test, 10 repeated in POOL``."""
        total = sum(self.skipped.values())
        order = [*REASONS, DUPLICATE, EMPTY]
        reasons = ", ".join(f"{self.skipped[reason]:,} {reason}" for reason in order if self.skipped[reason])
        return f"{total:,} skipped" + (f": {reasons}" if reasons else "")


def probability_columns(labels: list[str]) -> list[str]:
    """The work file's probability columns, in the model's label order (``training.predict``'s names)."""
    return [f"prob_{label}" for label in labels]


def probabilities(table: pa.Table | pa.RecordBatch, labels: list[str]) -> np.ndarray:
    """``(rows, classes)`` probabilities of a piece of the work file (NaN for an empty text)."""
    columns = [table.column(name).to_numpy(zero_copy_only=False) for name in probability_columns(labels)]
    return np.column_stack(columns).astype(np.float64) if columns else np.empty((table.num_rows, 0))


def skip_reason(text: str | None, known: Known, seen: set) -> str | None:
    """Why a POOL text is not asked (empty, a known text, a repeat of an earlier POOL row), or None; the key of a
    text that may be asked joins ``seen``."""
    if not text or not text_key(text):
        return EMPTY
    key = key_hash(text)
    reason = known.reason(key) or (DUPLICATE if key in seen else None)
    if reason is None:
        seen.add(key)
    return reason


def scan(work: Path, labels: list[str], known: Known, strategy: str, thresholds: np.ndarray | None) -> Pool:
    """Score every POOL row that may be asked; count the others by reason.

    A row is skipped when its text is empty (no prediction), when it is a known text (:mod:`training.ask.known`),
    or when an earlier POOL row has the same text (as the corrections match texts): each text is asked once.
    """
    import pyarrow.parquet as pq

    source = pq.ParquetFile(work)
    rows, scores, classes, skipped, seen, offset = [], [], [], Counter(), set(), 0
    for batch in source.iter_batches(columns=["text", *probability_columns(labels)], batch_size=SCAN_BATCH):
        keep = []
        for i, text in enumerate(batch.column("text").to_pylist()):
            reason = skip_reason(text, known, seen)
            if reason:
                skipped[reason] += 1
                continue
            keep.append(i)
        if keep:
            rows.append(offset + np.asarray(keep, dtype=np.int64))
            probs = probabilities(batch, labels)[keep]
            scores.append(uncertainty(probs, strategy, thresholds))
            classes.append(groups(probs, thresholds))
        offset += batch.num_rows
    empty = np.empty(0, dtype=np.int64)
    return Pool(
        offset,
        np.concatenate(rows) if rows else empty,
        np.concatenate(scores) if scores else np.empty(0),
        skipped,
        np.concatenate(classes) if classes else empty,
    )


def rows_at(work: Path, rows: np.ndarray, columns: list[str]) -> pa.Table:
    """The work file's ``columns`` at row numbers ``rows``, in that order; only their row groups are read."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(work)
    sizes = [source.metadata.row_group(g).num_rows for g in range(source.num_row_groups)]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    rows = np.asarray(rows, dtype=np.int64)
    group = np.searchsorted(bounds, rows, side="right") - 1
    pieces, places = [], []
    for g in np.unique(group):
        chosen = np.nonzero(group == g)[0]
        table = source.read_row_group(int(g), columns=columns)
        pieces.append(table.take(pa.array(rows[chosen] - bounds[g])))
        places.append(chosen)
    if not pieces:
        return source.schema_arrow.empty_table().select(columns)
    joined = pa.concat_tables(pieces)
    return joined.take(pa.array(np.argsort(np.concatenate(places), kind="stable")))
