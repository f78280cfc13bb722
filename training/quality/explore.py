"""Figures of the data, before any training: class balance, text length, and a map of embeddings.

Each figure is a pure function of plain arrays returning a matplotlib ``Figure`` (Agg backend: no
window, safe in a headless run); ``__main__`` decides where to save it.
"""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

CMAPS = ["Greys", "Blues", "Oranges", "Reds", "Purples", "Greens", "YlOrBr", "PuRd", "BuGn", "GnBu"]


def class_distribution(label_ids, labels: list[str], title: str = "Frequency of classes") -> Figure:
    """Horizontal bars of the number of examples per class, most frequent on top."""
    counts = np.bincount(np.asarray(label_ids, dtype=int), minlength=len(labels))
    order = np.argsort(counts)  # barh draws bottom-up: ascending order puts the largest on top
    fig = Figure(figsize=(6, 0.45 * len(labels) + 1.5))
    ax = fig.add_subplot()
    bars = ax.barh([labels[i] for i in order], counts[order], color="tab:blue")
    ax.bar_label(bars, padding=3, fontsize=8)
    ax.set_xlabel("Examples")
    ax.set_title(title)
    ax.margins(x=0.12)
    fig.tight_layout()
    return fig


def words_per_text(texts: list[str], label_ids, labels: list[str], title: str = "Words per text") -> Figure:
    """A box plot of the number of whitespace-separated words per text, one box per class."""
    label_ids = np.asarray(label_ids, dtype=int)
    words = np.array([len(text.split()) for text in texts])
    fig = Figure(figsize=(max(6, 1.1 * len(labels)), 4.5))
    ax = fig.add_subplot()
    ax.boxplot([words[label_ids == i] for i in range(len(labels))], showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30 if len(labels) > 6 else 0)
    ax.set_ylabel("Words")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def project_2d(embeddings: np.ndarray, seed: int = 42) -> tuple[np.ndarray, str]:
    """Project embeddings to 2-D: UMAP (cosine) when ``umap-learn`` is installed, else PCA.

    Returns:
        The ``(n, 2)`` coordinates and the method's name (for the figure's title).
    """
    from sklearn.preprocessing import MinMaxScaler

    scaled = MinMaxScaler().fit_transform(embeddings)  # as the seed: features in [0, 1] first
    try:
        import umap
    except ImportError:
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(scaled), "PCA"
    with warnings.catch_warnings():  # a seed makes UMAP single-threaded, which it warns about on every run
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
        return umap.UMAP(n_components=2, metric="cosine", random_state=seed).fit_transform(scaled), "UMAP"


def embedding_map(points: np.ndarray, label_ids, labels: list[str], method: str = "2-D projection") -> Figure:
    """Density of the projected embeddings, one panel per class (where each class lives on the map)."""
    label_ids = np.asarray(label_ids, dtype=int)
    cols = min(3, len(labels))
    rows = math.ceil(len(labels) / cols)
    fig = Figure(figsize=(3.2 * cols, 3 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    extent = (points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max())
    for i, (ax, name) in enumerate(zip(axes, labels, strict=False)):  # spare panels past the last class stay empty
        mine = points[label_ids == i]
        if len(mine):
            ax.hexbin(
                mine[:, 0],
                mine[:, 1],
                cmap=CMAPS[i % len(CMAPS)],
                gridsize=20,
                linewidths=(0,),
                mincnt=1,
                extent=extent,
            )
        ax.set_title(f"{name} ({len(mine)})")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(labels) :]:
        ax.set_visible(False)
    fig.suptitle(f"Frozen embeddings of the training texts ({method})")
    fig.tight_layout()
    return fig
