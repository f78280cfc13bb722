"""Frozen embeddings and the two baselines."""

import numpy as np
import pytest

from training.quality.baselines import extract_embeddings, run_baselines

LABELS = ["a", "b", "c"]


def test_embeddings_are_in_input_order_and_batch_independent(tiny_backbone_dir):
    texts = ["i feel happy", "so lonely today and really gloomy about this day", "scared", "i am glad"]
    together = extract_embeddings(str(tiny_backbone_dir), {"all": texts}, batch_size=3)["all"]
    assert together.shape == (4, 32) and together.dtype == np.float32
    # alone: no padding at all; batched: padding must be masked out
    alone = extract_embeddings(str(tiny_backbone_dir), {i: [text] for i, text in enumerate(texts)}, batch_size=1)
    assert list(alone) == [0, 1, 2, 3]
    for i in range(len(texts)):
        assert np.allclose(alone[i][0], together[i], atol=1e-5)
    assert not np.allclose(together[0], together[1])


def test_baselines_on_separable_features():
    rng = np.random.default_rng(0)
    centers = np.eye(3) * 10
    train_y = np.array([0] * 30 + [1] * 20 + [2] * 10)
    eval_y = np.array([0, 1, 1, 2, 2, 2])
    train_x = centers[train_y] + rng.normal(size=(60, 3))
    eval_x = centers[eval_y] + rng.normal(size=(6, 3))
    results = run_baselines(train_x, train_y, {"validation": (eval_x, eval_y)}, LABELS)
    assert set(results) == {"dummy", "logistic_regression"}
    dummy = results["dummy"]["validation"]
    assert dummy["accuracy"] == pytest.approx(1 / 6)  # always "a", the most frequent training label
    assert dummy["confusion_matrix"] == [[1, 0, 0], [2, 0, 0], [3, 0, 0]]
    assert results["logistic_regression"]["validation"]["accuracy"] == 1.0
