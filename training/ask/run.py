"""Choose the texts worth labelling next: predict POOL, skip what is known, rank, pick, write the sheet.

1. ``training.predict`` labels POOL into a work file beside the sheet (``OUT.predictions.parquet``, with the
   texts), so POOL is read by the same readers, on the same backends, resumable after a crash and shared
   between processes under ``torchrun``. Once the sheet is written the work file is removed
   (``--keep-predictions`` keeps it).
2. The main process scans the work file: known texts and repeats are skipped (:mod:`training.ask.known`),
   every other row gets the strategy's uncertainty (:mod:`training.ask.ranking`).
3. The strategy ranks and picks ``--budget`` texts, embedding only the ones it looks at
   (:mod:`training.ask.embed`), never two near-duplicates.
4. The sheet (:mod:`training.ask.sheet`), and one summary line.

When MODEL is a base encoder (no trained head: ``offline``, an encoder folder or Hub id), nothing is predicted:
the sheet holds each cluster's most typical text (:mod:`training.ask.cold`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formats.model_config import label_names
from formats.output_folder import CONFIG_FILE
from formats.writing import write_refusal
from training.ask.balanced import balanced_choose
from training.ask.cold import NO_MODEL, cold_rows, eligible_texts, encoder_folder
from training.ask.embed import Embedder
from training.ask.known import Known, known_texts
from training.ask.pool import Pool, probabilities, probability_columns, rows_at, scan
from training.ask.ranking import BALANCED, DEFAULT, NEAR_DUPLICATE, STRATEGIES, choose, ranked, suggestion
from training.ask.sheet import sheet_format, write_sheet
from training.data.options import reading_field
from training.errors import ToolkitError
from training.predict.inputs import Input
from training.predict.model import resolve_model
from training.predict.run import PredictOptions, cpu_budget, predict_corpus, read_as_told
from training.runtime import decision_thresholds


@dataclass(frozen=True)
class AskOptions:
    """What ``python -m training.ask`` was asked (see its ``--help`` for each option)."""

    model: str
    pool: str
    output: str
    budget: int = 100
    strategy: str = DEFAULT
    seed: int = 0
    exclude: tuple[str, ...] = ()
    simulate: bool = False
    overwrite: bool = False
    keep_predictions: bool = False
    revision: str | None = None
    split: str | None = None
    text_column: str = reading_field("text_column")
    label_column: str = reading_field("label_column")
    label_columns: str | None = reading_field("label_columns")
    multi_label: bool = reading_field("multi_label")
    label_separator: str = reading_field("label_separator")
    id_column: str | None = None
    no_labels: bool = False
    backend: str = "auto"
    batch_size: int | None = None
    shard_size: int = 50_000
    threads: int | None = None
    progress: bool = True

    def predict_options(self, work: Path) -> PredictOptions:
        """``training.predict``'s options for labelling POOL into the work file (with the texts)."""
        shared = ("model", "revision", "split", "text_column", "label_column", "id_column", "no_labels", "backend")
        shared += ("label_columns", "multi_label", "label_separator")
        shared += ("batch_size", "shard_size", "threads", "overwrite", "progress")
        return PredictOptions(
            input=self.pool,
            output=str(work),
            keep_text=True,
            metrics=str(work.with_name(work.name + ".metrics.json")),
            **{name: getattr(self, name) for name in shared},
        )


def work_file(out: Path) -> Path:
    """Where POOL's predictions go while the sheet is made: ``OUT.predictions.parquet``."""
    return out.with_name(out.name + ".predictions.parquet")


def check_options(options: AskOptions) -> Path:
    """Refuse bad options and a sheet that would replace something, before any work; the sheet's path."""
    if options.budget < 1:
        raise ToolkitError(f"ask error: --budget {options.budget}: expected at least 1 text to ask about")
    if options.strategy not in STRATEGIES:
        raise ToolkitError(f"ask error: --strategy {options.strategy}: expected one of {', '.join(STRATEGIES)}")
    if options.simulate and options.no_labels:
        raise ToolkitError("ask error: --simulate reveals POOL's gold labels: it cannot go with --no-labels")
    out = Path(options.output)
    sheet_format(out)
    refuse_output(out, [], options.overwrite)  # before any slow work; the inputs once they are read
    work = work_file(out)
    if work.is_file() and not Path(str(work) + ".parts").exists() and not options.overwrite:
        raise ToolkitError(
            f"ask error: {work} is left from an earlier run of training.ask — delete it, or pass --overwrite "
            "to label POOL again"
        )
    return out


def ask(options: AskOptions) -> dict | None:
    """Write the sheet of the ``--budget`` texts of POOL most worth labelling.

    Returns:
        On the main process, the summary: pool size, skipped texts by reason, chosen, strategy, mean
        uncertainty chosen and in the pool, notes and a one-line ``summary``; None on the other processes.

    Raises:
        ToolkitError: bad options, model, POOL or ``--exclude``, an existing sheet, or nothing left to ask.
    """
    out = check_options(options)
    pool_input = read_as_told(options, options.pool, labels=not options.no_labels)
    known = known_texts(options.model, list(options.exclude), options.text_column, options.label_column)
    refuse_output(out, [*pool_input.files, *known.files], options.overwrite)
    if options.simulate:
        first = next(pool_input.rows(), None)
        if first is None or first.label is None:
            raise ToolkitError(
                f"ask error: --simulate: {options.pool} has no labels (column '{options.label_column}') "
                "— --simulate fills the sheet with POOL's gold labels"
            )
    main_process = os.environ.get("RANK", "0") == "0"
    for note in known.notes if main_process else ():
        print(note)
    encoder = encoder_folder(options.model, options.revision)
    if encoder is not None:  # no classifier: nothing to predict, the main process picks typical texts
        return cold_start(options, out, known, pool_input, encoder) if main_process else None
    work = work_file(out)
    predicted = predict_corpus(options.predict_options(work))
    if predicted is None:  # another process of a torchrun job: the main process ranks and writes
        return None
    print(predicted["summary"])
    summary = choose_and_write(options, out, work, known, pool_input)
    if not options.keep_predictions:
        work.unlink(missing_ok=True)
    Path(options.predict_options(work).metrics).unlink(missing_ok=True)
    return summary


def refuse_output(out: Path, inputs: list[Path], overwrite: bool) -> None:
    """The write rule of every command (``formats.writing``): the sheet never replaces POOL or an ``--exclude``
    file, never goes into a model's folder, and replaces an existing sheet only with ``--overwrite``."""
    refusal = write_refusal(out, "--output", overwrite=overwrite, inputs=inputs)
    if refusal:
        raise ToolkitError(f"ask error: {refusal}")


def model_classes(options: AskOptions) -> tuple[list[str], np.ndarray | None]:
    """The model's classes in id order, and for a multi-label model each label's threshold (config.json's
    ``label_thresholds``, 0.5 for a label without one); None for a single-label model."""
    folder = resolve_model(options.model, options.revision, weights=False)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    return label_names(config), decision_thresholds(config, f"ask error: {options.model}/{CONFIG_FILE}")


def choose_and_write(options: AskOptions, out: Path, work: Path, known: Known, pool_input: Input) -> dict:
    """Steps 2 to 4 of the module docstring, on the main process."""
    labels, thresholds = model_classes(options)
    pool = scan(work, labels, known, options.strategy, thresholds)
    budget, notes = usable_budget(options, pool)
    embedder = Embedder(resolve_model(options.model, options.revision, weights=True), options.threads or cpu_budget())

    def embed(indices: np.ndarray) -> np.ndarray:
        return embedder(rows_at(work, pool.rows[indices], ["text"]).column("text").to_pylist())

    if options.strategy == BALANCED:
        labelled = np.asarray([known.labelled.get(label, 0) for label in labels])
        picked = balanced_choose(pool.classes, pool.scores, labelled, budget, embed, options.seed)
    else:
        picked = choose(ranked(pool.scores, options.strategy, options.seed), budget, embed)
    chosen = np.asarray(picked, dtype=np.int64)
    if len(chosen) < budget:
        notes.append(
            f"note: chose {len(chosen):,} of {budget:,}: the others are near-duplicates (embeddings at cosine "
            f"{NEAR_DUPLICATE} or more) of chosen texts"
        )
        print(notes[-1])
    rows = sheet_rows(options, work, pool, chosen, labels, thresholds)
    write_sheet(out, rows)
    summary = {
        **counts(pool, rows, options.strategy),
        "mean_uncertainty_chosen": round(float(pool.scores[chosen].mean()), 4) if len(chosen) else None,
        "mean_uncertainty_pool": round(float(pool.scores.mean()), 4),
        "notes": known.notes + notes,
    }
    summary["summary"] = (
        f"asked {len(rows):,} of {pool.size:,} POOL texts with {options.strategy} ({pool.skipped_line()}; "
        f"{len(pool.rows):,} left to choose from); mean uncertainty {summary['mean_uncertainty_chosen']:.4f} "
        f"chosen vs {summary['mean_uncertainty_pool']:.4f} in the pool left"
    )
    return summary


def counts(pool: Pool, rows: list[dict], strategy: str) -> dict:
    """The summary's counts: POOL rows, those skipped by reason, those left to choose from, those chosen."""
    return {
        "pool": pool.size,
        "skipped": dict(pool.skipped),
        "eligible": len(pool.rows),
        "chosen": len(rows),
        "strategy": strategy,
    }


def usable_budget(options: AskOptions, pool: Pool) -> tuple[int, list[str]]:
    """``--budget``, or every eligible text when fewer are left (with a note, printed); a one-line error when
    none is left."""
    if not len(pool.rows):
        raise ToolkitError(
            f"ask error: POOL {options.pool}: no text left to ask about ({pool.size:,} rows, {pool.skipped_line()}) "
            "— give a POOL of new texts"
        )
    if options.budget <= len(pool.rows):
        return options.budget, []
    note = f"note: --budget {options.budget:,} is more than the {len(pool.rows):,} texts left in POOL: taking all"
    print(note)
    return len(pool.rows), [note]


def cold_start(options: AskOptions, out: Path, known: Known, pool_input: Input, folder: Path) -> dict:
    """The sheet when MODEL is a base encoder: each cluster's most typical POOL text (:mod:`training.ask.cold`)."""
    pool, texts, ids = eligible_texts(pool_input.rows(), known)
    budget, notes = usable_budget(options, pool)
    embeddings = Embedder(folder, options.threads or cpu_budget(), encoder=True)(texts)
    chosen, rows = cold_rows(embeddings, budget, options.seed, texts, ids)
    if options.simulate:
        for row, label in zip(rows, gold_labels(options, pool.rows[chosen]), strict=True):
            row["label"] = label
    write_sheet(out, rows)
    summary = {**counts(pool, rows, "typical"), "notes": known.notes + notes}
    summary["summary"] = (
        f"asked {len(rows):,} of {pool.size:,} POOL texts, chosen by {NO_MODEL}: the most typical text of each of "
        f"{len(rows):,} clusters ({pool.skipped_line()}; {len(pool.rows):,} left to choose from)"
    )
    return summary


def sheet_rows(
    options: AskOptions, work: Path, pool: Pool, chosen: np.ndarray, labels: list[str], thresholds
) -> list[dict]:
    """The sheet's rows (``training.ask.sheet.COLUMNS``) for the chosen eligible rows, in labelling order."""
    table = rows_at(work, pool.rows[chosen], ["id", "text", *probability_columns(labels)])
    probs = probabilities(table, labels)
    gold = gold_labels(options, pool.rows[chosen]) if options.simulate else [None] * len(chosen)
    return [
        {
            "rank": rank,
            "id": identifier,
            "text": text,
            "suggested": suggestion(probs[rank - 1], labels, thresholds),
            "uncertainty": float(pool.scores[chosen[rank - 1]]),
            "label": gold[rank - 1],
        }
        for rank, (identifier, text) in enumerate(
            zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True), start=1
        )
    ]


def gold_labels(options: AskOptions, rows: np.ndarray) -> list:
    """``--simulate``: POOL's gold label of each of ``rows`` (row numbers), read as ``training.predict`` reads
    POOL; the other rows' labels are never kept."""
    wanted = {int(row): place for place, row in enumerate(rows)}
    found: list = [None] * len(rows)
    source = read_as_told(options, options.pool, labels=True)
    for number, row in enumerate(source.rows()):
        place = wanted.pop(number, None)
        if place is not None:
            found[place] = row.label
        if not wanted:
            break
    return found
