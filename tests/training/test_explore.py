"""Figures of the data: pure functions returning matplotlib Figures."""

import numpy as np
from matplotlib.figure import Figure

from training.quality.explore import class_distribution, embedding_map, project_2d, words_per_text

LABELS = ["neg", "neu", "pos"]


def test_class_distribution_bars_show_the_counts_largest_on_top():
    fig = class_distribution([0, 0, 0, 1, 2, 2], LABELS)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bars = ax.patches
    assert [b.get_width() for b in bars] == [1, 2, 3]  # drawn bottom-up
    assert [t.get_text() for t in ax.get_yticklabels()] == ["neu", "pos", "neg"]


def test_words_per_text_has_one_box_per_class():
    texts = ["one", "one two", "a b c d", "x y z", "p q"]
    fig = words_per_text(texts, [0, 0, 1, 1, 2], LABELS)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    medians = [line.get_ydata()[0] for line in ax.lines[5::6]]  # per box: box, 2 whiskers, 2 caps, median
    assert medians == [1.5, 3.5, 2.0]
    assert ax.get_ylabel() == "Words"


def test_embedding_map_has_one_panel_per_class():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(60, 8))
    labels = np.repeat([0, 1, 2], 20)
    points, method = project_2d(embeddings, seed=0)
    assert points.shape == (60, 2) and method == "UMAP"  # umap-learn is a requirement
    fig = embedding_map(points, labels, LABELS, method)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["neg (20)", "neu (20)", "pos (20)"]
    assert method in fig.get_suptitle()


def test_embedding_map_hides_spare_panels():
    points = np.random.default_rng(1).normal(size=(40, 2))
    fig = embedding_map(points, np.arange(40) % 4, ["a", "b", "c", "d"])
    assert sum(ax.get_visible() for ax in fig.axes) == 4 and len(fig.axes) == 6


def test_projection_falls_back_to_pca_when_umap_cannot_be_imported():
    import sys
    from unittest import mock

    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler

    embeddings = np.random.default_rng(2).normal(size=(50, 6))
    with mock.patch.dict(sys.modules, {"umap": None}):  # `import umap` raises ImportError
        points, method = project_2d(embeddings, seed=0)
    assert method == "PCA"
    expected = PCA(n_components=2, random_state=0).fit_transform(MinMaxScaler().fit_transform(embeddings))
    assert np.allclose(points, expected)
