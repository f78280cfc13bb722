"""Find the labels of a run's data that look wrong, write them as a sheet to fill in, and the estimate in the run.

1. The run's data (:mod:`training.audit.data`): read as training read it, corrections applied, kept texts known.
2. Out-of-sample probabilities of every text of each audited split (:mod:`training.audit.probabilities`): the
   run's model for validation and test (one forward pass, which also gives the fine-tuned embeddings), and for
   train ``--method`` (default: K-fold logistic regression on those embeddings; ``dynamics`` knows only the texts
   the run trained on, and leaves the others out).
3. cleanlab ranks each split's suspects (:mod:`training.audit.issues`); kept texts are left out.
4. The sheet (:data:`COLUMNS`, formula-safe like ``training.ask``'s), the worst label quality first, at most
   ``--budget`` rows; the estimate into the run folder (:mod:`training.audit.report`); one summary line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formats.model_config import label_names
from formats.output_folder import CONFIG_FILE, DYNAMICS_FILE
from formats.writing import write_refusal
from training.audit.data import PREFIX, check_run, kept_keys, run_config, run_data
from training.audit.issues import Suspects, estimate, name_of, suspects
from training.audit.probabilities import (
    DEFAULT_FOLDS,
    DESCRIPTIONS,
    DYNAMICS,
    FINE_TUNE,
    HELD_OUT,
    LOGISTIC,
    LOGISTIC_FROZEN,
    METHODS,
    kfold_logistic,
)
from training.audit.report import merged_estimate, write_estimate
from training.corrections.audit import key_hash
from training.corrections.records import AUDIT_COLUMN
from training.errors import ToolkitError
from training.runtime import decision_thresholds, model_probabilities

TRAIN, SPLITS, ALL = "train", ("train", "validation", "test"), "all"
COLUMNS = ("rank", "id", "split", "text", "given", "suggested", AUDIT_COLUMN, "label")


@dataclass(frozen=True)
class AuditOptions:
    """What ``python -m training.audit`` was asked (see its ``--help`` for each option)."""

    run_dir: str
    output: str
    split: str = TRAIN
    budget: int | None = None
    method: str = LOGISTIC
    folds: int = DEFAULT_FOLDS
    seed: int = 0
    exclude: tuple[str, ...] = ()
    overwrite: bool = False
    threads: int | None = None


def check_options(options: AuditOptions) -> tuple[Path, Path, list[str]]:
    """Refuse bad options and a sheet that would replace something, before any work: the run, the sheet, the
    splits to audit."""
    from training.ask.sheet import sheet_format

    if options.budget is not None and options.budget < 1:
        raise ToolkitError(f"{PREFIX}: --budget {options.budget}: expected at least 1 row")
    if options.folds < 2:
        raise ToolkitError(f"{PREFIX}: --folds {options.folds}: expected at least 2")
    if options.method not in METHODS:
        raise ToolkitError(f"{PREFIX}: --method {options.method}: expected one of {', '.join(METHODS)}")
    if options.split not in (*SPLITS, ALL):
        raise ToolkitError(f"{PREFIX}: --split {options.split}: expected one of {', '.join((*SPLITS, ALL))}")
    run_dir, out = Path(options.run_dir), Path(options.output)
    check_run(run_dir)
    if options.method == DYNAMICS and TRAIN in splits_of(options) and not (run_dir / DYNAMICS_FILE).is_file():
        raise ToolkitError(
            f"{PREFIX}: {run_dir}: no {DYNAMICS_FILE} — --method dynamics needs a run that recorded them (trained "
            "by this version, in one process); use --method logistic"
        )
    sheet_format(out, PREFIX)
    refusal = write_refusal(out, "--output", overwrite=options.overwrite, inputs=[Path(s) for s in options.exclude])
    if refusal:
        raise ToolkitError(f"{PREFIX}: {refusal}")
    splits = splits_of(options)
    merged_estimate(run_dir, dict.fromkeys(splits), options.overwrite)  # refused now, not after the slow part
    return run_dir, out, splits


def splits_of(options: AuditOptions) -> list[str]:
    """The splits ``--split`` names."""
    return list(SPLITS) if options.split == ALL else [options.split]


def audit(options: AuditOptions) -> dict:
    """Write the sheet of suspects and the estimate (module docstring).

    Returns:
        The summary: per split its texts, suspects and share, the rows written, and a one-line ``summary``.

    Raises:
        ToolkitError: bad options, a run without its data, a split the data lacks, an existing sheet.
    """
    run_dir, out, splits = check_options(options)
    data = run_data(run_dir)
    missing = [split for split in splits if split not in data.splits and options.split != ALL]
    if missing:
        raise ToolkitError(f"{PREFIX}: {run_dir}'s data has no {missing[0]} split — choose --split train")
    splits = [split for split in splits if split in data.splits]
    kept = kept_keys(run_dir, list(options.exclude))
    config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    thresholds = decision_thresholds(config, f"{PREFIX}: {run_dir / CONFIG_FILE}")
    columns = model_columns(run_dir, label_names(config), data.labels)
    thresholds = None if thresholds is None else thresholds[columns]
    from training.ask.embed import Embedder

    embedder = Embedder(run_dir, options.threads)
    estimates, rows, left_out, unmet = {}, [], 0, 0
    for split in splits:
        probabilities, method = split_probabilities(options, run_dir, embedder, data, split, columns)
        ids = np.flatnonzero(~np.isnan(probabilities).any(axis=1))  # NaN: a text --method dynamics never met
        unmet += len(probabilities) - len(ids)
        met = data.splits[split].select(ids)
        texts, given = list(met["text"]), list(met["label"])
        probabilities = probabilities[ids]
        found, dropped = without_kept(suspects(given, probabilities, data.multi_label, thresholds), texts, kept)
        left_out += dropped
        estimates[split] = estimate(given, found, data.labels, data.multi_label, method)
        rows += sheet_rows(split, texts, given, probabilities, found, data.labels, data.multi_label, ids)
    rows = sorted(rows, key=lambda row: row[AUDIT_COLUMN])[: options.budget]
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    from training.ask.sheet import write_sheet

    write_sheet(out, rows, COLUMNS, AUDIT_COLUMN)
    write_estimate(run_dir, merged_estimate(run_dir, estimates, options.overwrite))
    shares = "; ".join(
        f"{split} {e['suspects']:,} of {e['texts']:,} ({100 * e['share']:.1f}%)" for split, e in estimates.items()
    )
    kept_note = f", {left_out:,} kept earlier left out" if left_out else ""
    kept_note += f", {unmet:,} training texts the run did not train on left out" if unmet else ""
    return {
        "splits": estimates,
        "rows": len(rows),
        "summary": f"audited {run_dir} with {estimates[splits[0]]['method']}: labels that look wrong: {shares}"
        f"{kept_note}; {len(rows):,} suspects in the sheet, worst first",
    }


def model_columns(run_dir: Path, model_labels: list[str], labels: list[str]) -> list[int]:
    """Where each class of the data is among the model's outputs (``config.json``'s id2label).

    Raises:
        ToolkitError: a class of the data that the model does not know.
    """
    unknown = [name for name in labels if name not in model_labels]
    if unknown:
        raise ToolkitError(
            f"{PREFIX}: {run_dir}: the data's labels {unknown} are not classes of the model ({model_labels}) — was "
            "the data changed since the run?"
        )
    return [model_labels.index(name) for name in labels]


def split_probabilities(
    options: AuditOptions, run_dir: Path, embedder, data, split: str, columns: list[int]
) -> tuple[np.ndarray, str]:
    """One split's out-of-sample probabilities in the data's class order, and how they were got (the estimate's
    words)."""
    texts = list(data.splits[split]["text"])
    if split != TRAIN:
        logits = embedder.embed_with_logits(texts)[1]
        return model_probabilities(logits, data.multi_label)[:, columns], HELD_OUT
    given = list(data.splits[split]["label"])
    described = DESCRIPTIONS[options.method].format(folds=options.folds)
    if options.method == DYNAMICS:
        return dynamics_probabilities(run_dir, texts, data.multi_label)[:, columns], described
    if options.method == FINE_TUNE:
        from training.audit.folds import kfold_fine_tune

        return kfold_fine_tune(run_dir, run_config(run_dir), data, options.folds, options.seed), described
    if options.method == LOGISTIC_FROZEN:
        from training.ask.embed import Embedder
        from training.backbones import resolve_backbone

        embedder = Embedder(Path(resolve_backbone(run_config(run_dir)).resolved), options.threads, encoder=True)
    vectors = embedder(texts)
    classes = len(data.labels)
    return kfold_logistic(vectors, given, classes, options.folds, options.seed, data.multi_label), described


def dynamics_probabilities(run_dir: Path, texts: list[str], multi_label: bool) -> np.ndarray:
    """The training texts' probabilities averaged over the run's epochs, in the model's class order (NaN for a text
    the run did not train on).

    Raises:
        ToolkitError: the run recorded none of these texts.
    """
    from training.quality.dynamics import mean_probabilities, text_dynamics

    path = run_dir / DYNAMICS_FILE  # there: check_options
    probabilities = mean_probabilities(text_dynamics(path, texts), multi_label)
    if np.isnan(probabilities).all():
        raise ToolkitError(f"{PREFIX}: {path}: none of {run_dir}'s training texts are in it — was the data changed?")
    return probabilities


def without_kept(found: Suspects, texts: list[str], kept: set[str]) -> tuple[Suspects, int]:
    """``found`` without the texts the owner kept in an earlier audit, and how many were left out."""
    if not kept:
        return found, 0
    keep = np.array([key_hash(texts[row]).hex() not in kept for row in found.rows], dtype=bool)
    return Suspects(found.rows[keep], found.quality, found.likely), int((~keep).sum())


def sheet_rows(split, texts, given, probabilities, found: Suspects, labels: list[str], multi_label: bool, ids) -> list:
    """The sheet's rows of one split's suspects (``rank`` set later, over every split; ``ids``: each row's number in
    the split)."""
    rows = []
    for row in found.rows.tolist():
        likely = found.likely[row]
        shown = name_of(likely, labels) if multi_label else f"{labels[likely]} {probabilities[row, likely]:.2f}"
        rows.append(
            {
                "rank": 0,
                "id": int(ids[row]),
                "split": split,
                "text": texts[row],
                "given": name_of(tuple(given[row]) if multi_label else given[row], labels),
                "suggested": shown,
                AUDIT_COLUMN: float(found.quality[row]),
                "label": None,
            }
        )
    return rows
