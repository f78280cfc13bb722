"""``--method fine-tune``: out-of-sample probabilities of the training texts from K fine-tunings of the run's recipe.

The training split is cut into K folds (stratified by class for single-label data); for each fold, ``python -m
training`` (a subprocess: the same pipeline, options and seed as the run, from its ``train_config.json``) trains on
the other K-1 folds, with the run's validation split for choosing the best epoch, and the fold model gives the
probabilities of the texts it left out. K trainings on K-1 folds each: about K-1 times the run's own training
time, a GPU job (docs/audit.md). The fold runs go into a temporary folder, removed at the end.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from formats.model_config import label_names
from formats.output_folder import CONFIG_FILE
from training.errors import ToolkitError
from training.runtime import model_probabilities

# The run's options a fold's training must not repeat: its data and output, anything that publishes, corrects or
# exports, and how the run's own files were read (the folds are written as JSON lines with text and label).
FOLD_OPTIONS = {
    "overwrite_output_dir": True,
    "corrections": None,
    "push_to_hub": False,
    "export_onnx": False,
    "report_to": "none",
    "max_train_samples": None,
    "text_column": "text",
    "label_column": "label",
    "label_columns": None,
    "label_names": None,
}


def fold_data(folder: Path, rows: dict[str, list[tuple[str, object]]]) -> Path:
    """Write ``rows`` (split -> ``(text, label name or list of names)``) as ``folder/SPLIT.jsonl``."""
    folder.mkdir(parents=True)
    for split, pairs in rows.items():
        lines = [json.dumps({"text": text, "label": label}, ensure_ascii=False) for text, label in pairs]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def named(labels, names: list[str], multi_label: bool) -> list:
    """Class ids (multi-label: lists of ids) as label names, as a data file holds them."""
    return [[names[i] for i in ids] for ids in labels] if multi_label else [names[i] for i in labels]


def kfold_fine_tune(run_dir: Path, config, data, folds: int, seed: int) -> np.ndarray:
    """Each training text's probabilities from the fold model that did not see it (module docstring).

    Raises:
        ToolkitError: a fold's training failed (its last line of error said why).
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    texts, labels = list(data.splits["train"]["text"]), list(data.splits["train"]["label"])
    names = named(labels, data.labels, data.multi_label)
    validation = list(
        zip(
            data.splits["validation"]["text"],
            named(data.splits["validation"]["label"], data.labels, data.multi_label),
            strict=True,
        )
    )
    splitter = (KFold if data.multi_label else StratifiedKFold)(folds, shuffle=True, random_state=seed)
    probabilities = np.zeros((len(texts), len(data.labels)))
    options = {**dataclasses.asdict(config), **FOLD_OPTIONS, "multi_label": data.multi_label}
    options["single_label"] = not data.multi_label
    with tempfile.TemporaryDirectory(prefix="audit-folds-") as work:
        for fold, (fit, held) in enumerate(splitter.split(texts, None if data.multi_label else labels)):
            folder = fold_data(
                Path(work) / f"data{fold}",
                {"train": [(texts[i], names[i]) for i in fit], "validation": validation, "test": validation},
            )
            run = Path(work) / f"run{fold}"
            file = Path(work) / f"fold{fold}.json"
            file.write_text(json.dumps({**options, "data": str(folder), "output_dir": str(run)}), encoding="utf-8")
            done = subprocess.run(
                [sys.executable, "-m", "training", "--config", str(file)], stderr=subprocess.PIPE, text=True
            )
            if done.returncode:
                last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                raise ToolkitError(f"audit error: --method fine-tune: fold {fold + 1} of {folds} failed: {last}")
            probabilities[held] = fold_probabilities(run, [texts[i] for i in held], data.labels, data.multi_label)
    return probabilities


def fold_probabilities(run: Path, texts: list[str], labels: list[str], multi_label: bool) -> np.ndarray:
    """A fold model's probabilities of ``texts``, its columns in the order of the run's ``labels``."""
    from training.ask.embed import Embedder

    probabilities = model_probabilities(Embedder(run).embed_with_logits(texts)[1], multi_label)
    order = label_names(json.loads((run / CONFIG_FILE).read_text(encoding="utf-8")))
    return probabilities[:, [order.index(name) for name in labels]]
