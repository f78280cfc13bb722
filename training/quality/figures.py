"""The figures of the output folder, and the baselines that share their frozen embeddings.

Written by the main process after training: the data's figures (class distribution, words per text, the
embedding map), then the headline split's (the confusion matrix, or for multi-label data the label
co-occurrence and per-label F1 against support; the reliability diagram).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from formats.output_folder import (
    CALIBRATION_FIGURE,
    CLASS_DISTRIBUTION_FIGURE,
    CONFUSION_FIGURE,
    COOCCURRENCE_FIGURE,
    EMBEDDING_MAP_FIGURE,
    F1_SUPPORT_FIGURE,
    WORDS_FIGURE,
    save_figure,
)
from training.data.load import gold_labels
from training.quality.baselines import extract_embeddings, run_baselines, run_multi_label_baselines
from training.quality.calibration import binary_logits, reliability_figure
from training.quality.evaluate import confusion_figure
from training.quality.explore import class_distribution, embedding_map, project_2d, words_per_text
from training.quality.multi_label import cooccurrence_figure, f1_support_figure

# The 2-D map of a larger train split uses a seeded sample of it. UMAP is fast enough to map emotion's
# whole train split (bench/embedding_map.py; docs/benchmarks.md), as the chapter does.
EMBEDDING_MAP_POINTS = 20_000


def label_pairs(column, multi_label: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, label ids)``: each text once with its label, or a multi-label text once per label it has."""
    if not multi_label:
        ids = np.asarray(column, dtype=int)
        return np.arange(len(ids)), ids
    rows = [row for row, ids in enumerate(column) for _ in ids]
    return np.asarray(rows, dtype=int), np.asarray([i for ids in column for i in ids], dtype=int)


def figures_and_baselines(out: Path, data, backbone, config, device: str) -> tuple[dict, dict]:
    """Write the figures of the training data; return the two baselines' metrics (on frozen embeddings) and
    how the embedding map was projected (UMAP, or PCA when umap-learn cannot be imported)."""
    out.mkdir(parents=True, exist_ok=True)
    train, labels, multi = data.splits["train"], data.labels, data.multi_label
    texts, column = list(train["text"]), list(train["label"])
    rows, ids = label_pairs(column, multi)
    save_figure(class_distribution(ids, labels), out / CLASS_DISTRIBUTION_FIGURE)
    save_figure(words_per_text([texts[r] for r in rows], ids, labels), out / WORDS_FIGURE)
    if multi:
        save_figure(cooccurrence_figure(gold_labels(data, "train"), labels), out / COOCCURRENCE_FIGURE)
    embeddings = extract_embeddings(
        backbone.resolved,
        {name: list(ds["text"]) for name, ds in data.splits.items()},
        batch_size=config.eval_batch_size,
        max_length=config.max_length,
        device=device,
    )
    features = {name: (embeddings[name], gold_labels(data, name)) for name in data.splits}
    train_x, train_y = features.pop("train")
    projection = map_embeddings(out, train_x, rows, ids, labels, config.seed)
    if multi:
        baselines = run_multi_label_baselines(
            train_x, train_y, features, labels, config.seed, config.threshold_objective
        )
    else:
        baselines = run_baselines(train_x, train_y, features, labels, config.seed)
    return baselines, projection


def map_embeddings(out: Path, train_x, rows, ids, labels: list[str], seed: int) -> dict:
    """Write the embedding map (a seeded sample of the training texts, one panel per label); how it was made."""
    sample = np.random.default_rng(seed).permutation(len(train_x))[:EMBEDDING_MAP_POINTS]
    start = time.perf_counter()
    points, method = project_2d(train_x[sample], seed)
    seconds = round(time.perf_counter() - start, 1)
    position = np.full(len(train_x), -1)
    position[sample] = np.arange(len(sample))
    kept = position[rows] >= 0  # the (text, label) pairs whose text is in the sample
    save_figure(embedding_map(points[position[rows][kept]], ids[kept], labels, method), out / EMBEDDING_MAP_FIGURE)
    return {"method": method, "points": len(sample), "seconds": seconds}


def write_headline_figures(out: Path, data, split: str, evaluation: dict, logits, gold, calibration) -> None:
    """The headline split's figures: the confusion matrix (multi-label: per-label F1 against support) and the
    reliability diagram before and after temperature scaling (multi-label: of every (text, label) decision)."""
    if data.multi_label:
        save_figure(f1_support_figure(evaluation["per_class"], split), out / F1_SUPPORT_FIGURE)
    else:
        title = f"Normalized confusion matrix ({split})"
        save_figure(confusion_figure(evaluation["confusion_matrix"], data.labels, title), out / CONFUSION_FIGURE)
    raw = logits * calibration.temperature if calibration.applied else logits  # before scaling
    if data.multi_label:
        raw, gold = binary_logits(raw), np.asarray(gold).reshape(-1).astype(int)
    figure = reliability_figure(raw, gold, calibration.temperature, split, applied=calibration.applied)
    save_figure(figure, out / CALIBRATION_FIGURE)
