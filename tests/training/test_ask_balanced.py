"""training.ask's ``balanced`` strategy and its first sheet from no labels, against hand computations; a base
encoder as MODEL end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.conftest import make_texts, write_split, write_tiny_tokenizer
from training.ask.__main__ import main
from training.ask.balanced import (
    Balance,
    balanced_choose,
    class_quotas,
    density,
    groups,
    interleaved,
    power_order,
    sparse,
    typical_picks,
)


def circle(*degrees: float) -> np.ndarray:
    """Unit vectors in the plane at these angles (cosine similarity = cosine of the angle between)."""
    radians = np.radians(degrees)
    return np.column_stack([np.cos(radians), np.sin(radians)])


def cos(degrees: float) -> float:
    return float(np.cos(np.radians(degrees)))


# ----------------------------------------------------------------------------- quotas


def test_quotas_fill_the_classes_the_labelled_set_lacks_first():
    # labelled 5, 0, 2: class 1 is raised to 2, then 1 and 2 in turn (ties: the lower id) up to 4 each
    assert class_quotas([10, 10, 10], [5, 0, 2], 6).tolist() == [0, 4, 2]


def test_quotas_never_exceed_what_a_class_has_left():
    assert class_quotas([1, 10, 10], [0, 0, 0], 6).tolist() == [1, 3, 2]
    assert class_quotas([1, 2, 0], [0, 0, 0], 6).tolist() == [1, 2, 0]  # the pool is short: everything


def test_groups_are_the_predicted_class_or_the_label_nearest_its_threshold():
    probs = np.array([[0.2, 0.52], [0.55, 0.1], [0.7, 0.3]])
    assert groups(probs).tolist() == [1, 0, 0]
    # |p - t| = [[0.3, 0.02], [0.05, 0.4], [0.2, 0.5]] with thresholds 0.5 each
    assert groups(probs, np.array([0.5, 0.5])).tolist() == [1, 0, 0]


def test_the_sheet_interleaves_the_classes_in_proportion_to_their_quotas_then_the_backups():
    # first items at (j + 0.5) / quota: 1 at 0.25, 7 at 0.5, 2 at 0.75; then the rest, list by list
    assert interleaved([[1, 2, 3], [7, 8]], [2, 1]) == [1, 7, 2, 3, 8]


# ----------------------------------------------------------------------------- tempered sampling


def test_power_order_is_the_gumbel_top_k_of_the_tempered_scores_for_a_seed():
    scores = np.array([0.2, 0.9, 0.5, 0.7])
    noise = np.random.default_rng(7).gumbel(size=4)
    by_hand = np.argsort(-(2.0 * np.log(scores) + noise))
    assert power_order(scores, 2.0, np.random.default_rng(7)).tolist() == by_hand.tolist()
    assert power_order(scores, 2.0, np.random.default_rng(7)).tolist() == by_hand.tolist()  # same seed, same order


def test_the_first_pick_is_drawn_in_proportion_to_the_score_to_the_power():
    scores = np.array([0.1, 0.3, 0.6])
    firsts = [power_order(scores, 1.0, np.random.default_rng(seed))[0] for seed in range(3000)]
    assert np.bincount(firsts, minlength=3) / 3000 == pytest.approx([0.1, 0.3, 0.6], abs=0.03)
    squared = [power_order(scores, 2.0, np.random.default_rng(seed))[0] for seed in range(3000)]
    assert np.bincount(squared, minlength=3) / 3000 == pytest.approx(scores**2 / (scores**2).sum(), abs=0.03)
    uniform = [power_order(scores, 0.0, np.random.default_rng(seed))[0] for seed in range(3000)]
    assert np.bincount(uniform, minlength=3) / 3000 == pytest.approx([1 / 3] * 3, abs=0.03)


# ----------------------------------------------------------------------------- outliers


def test_density_is_the_mean_cosine_to_the_k_nearest_reference_rows():
    points = circle(0, 10, 20, 30, 180)
    assert density(points, points, k=2, itself=True) == pytest.approx(
        [(cos(10) + cos(20)) / 2, cos(10), cos(10), (cos(10) + cos(20)) / 2, (cos(150) + cos(160)) / 2]
    )
    assert density(circle(5), points, k=2) == pytest.approx([cos(5)])  # 0 and 10 degrees, 5 away each


def test_the_sparsest_share_of_the_pool_is_flagged_as_outliers():
    points = circle(0, 10, 20, 30, 180)
    assert sparse(points, points, 0.2, k=2).tolist() == [False, False, False, False, True]
    assert sparse(circle(15, 100), points, 0.2, k=2).tolist() == [False, True]
    assert not sparse(points, points, 0.0, k=2).any()


# ----------------------------------------------------------------------------- the balanced pick


def spread(rows: int, seed: int = 0) -> np.ndarray:
    """Random unit vectors in 32 dimensions: no two near-duplicates."""
    vectors = np.random.default_rng(seed).normal(size=(rows, 32))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_balanced_meets_the_quotas_of_the_predicted_classes():
    classes = np.array([0] * 60 + [1] * 30 + [2] * 10)
    scores = np.random.default_rng(1).uniform(0.1, 1.0, size=100)
    vectors = spread(100)
    labelled = np.array([20, 5, 0])
    picked = balanced_choose(classes, scores, labelled, 20, lambda rows: vectors[rows], 3, Balance(0.0, 1.0, 0.0))
    assert len(set(picked)) == 20
    # quotas by hand: class 2 is raised to 5, classes 1 and 2 to 12 each, then 2 to 13 (ties: the lower id)
    assert class_quotas([60, 30, 10], labelled, 20).tolist() == [0, 10, 10]
    assert np.bincount(classes[picked], minlength=3).tolist() == [0, 10, 10]
    assert picked == balanced_choose(classes, scores, labelled, 20, lambda rows: vectors[rows], 3, Balance(0, 1, 0))


def test_balanced_keeps_a_random_floor_and_passes_over_outliers():
    vectors = np.concatenate([spread(99, seed=2) * 0.8 + np.eye(32)[0], -np.eye(32)[:1]])  # row 99: alone
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    classes = np.zeros(100, dtype=np.int64)
    scores = np.full(100, 0.01)
    scores[99] = 1.0  # the outlier is by far the most uncertain
    for seed in range(5):
        picked = balanced_choose(classes, scores, np.zeros(1), 10, lambda rows: vectors[rows], seed, Balance(0, 5, 0.1))
        assert 99 not in picked
    with_it = [
        balanced_choose(classes, scores, np.zeros(1), 10, lambda r: vectors[r], s, Balance(0, 5, 0.0)) for s in range(5)
    ]
    assert all(99 in picked for picked in with_it)  # without the filter, power 5 takes it every time
    floor = balanced_choose(classes, scores, np.zeros(1), 10, lambda rows: vectors[rows], 4, Balance(0.5, 5, 0.1))
    shuffled = np.random.default_rng(4).permutation(100)
    assert set(shuffled[:5].tolist()) <= set(floor)  # half the batch: the seed's first five of a permutation


def test_balanced_over_a_multi_label_pool_splits_over_the_labels_nearest_their_thresholds():
    rng = np.random.default_rng(5)
    probs = rng.uniform(size=(200, 3))
    thresholds = np.array([0.3, 0.5, 0.7])
    nearest = groups(probs, thresholds)
    assert nearest.tolist() == np.abs(probs - thresholds).argmin(axis=1).tolist()
    vectors = spread(200, seed=6)
    scores = 1 - np.abs(probs - thresholds).min(axis=1)
    picked = balanced_choose(nearest, scores, np.zeros(3), 30, lambda rows: vectors[rows], 0, Balance(0, 1, 0))
    assert np.bincount(nearest[picked], minlength=3).tolist() == [10, 10, 10]


# ----------------------------------------------------------------------------- the first sheet from no labels


def test_typical_picks_take_each_clusters_most_typical_row_largest_cluster_first():
    points = circle(-20, -10, 0, 10, 20, 85, 90, 95)
    # within 5 points, 0 degrees has the highest mean cosine to the other 4; within 3, 90 degrees
    assert typical_picks(points, 2) == [2, 6]


def encoder_folder(directory):
    """A random tiny DistilBERT with no classification head (``DistilBertModel``), as a Hub encoder is saved."""
    import torch
    from transformers import DistilBertConfig, DistilBertModel

    tokenizer = write_tiny_tokenizer(directory)
    config = DistilBertConfig(
        vocab_size=len(tokenizer), max_position_embeddings=64, dim=32, hidden_dim=64, n_layers=2, n_heads=2
    )
    torch.manual_seed(0)
    DistilBertModel(config).save_pretrained(directory)
    return directory


def test_a_base_encoder_as_model_writes_a_sheet_of_typical_texts_with_no_suggestions(tmp_path, emotion_labels, capsys):
    folder = encoder_folder(tmp_path / "encoder")
    rows = make_texts(emotion_labels, 8, seed=61)
    pool = write_split(tmp_path / "pool.txt", rows)
    out = tmp_path / "sheet.csv"
    assert main([str(folder), str(pool), "--budget", "6", "--simulate", "--output", str(out), "--no-progress"]) == 0
    with open(out, newline="", encoding="utf-8") as file:
        sheet = list(csv.DictReader(file))
    assert [row["rank"] for row in sheet] == [str(i) for i in range(1, 7)]
    assert len({row["text"] for row in sheet}) == 6
    assert all(row["suggested"] == "" and row["uncertainty"] == "" for row in sheet)
    assert all(rows[int(row["id"])] == (row["text"], row["label"]) for row in sheet)  # --simulate: gold labels
    printed = capsys.readouterr().out
    assert "asked 6 of 48 POOL texts, chosen by a base encoder (no model was used" in printed
    assert not list(tmp_path.glob("sheet.csv.*"))  # nothing was predicted
    jsonl = tmp_path / "sheet.jsonl"
    assert main([str(folder), str(pool), "--budget", "6", "--output", str(jsonl), "--no-progress"]) == 0
    again = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [row["text"] for row in again] == [row["text"] for row in sheet]  # seeded: the same picks
    assert all(row["suggested"] is None and row["uncertainty"] is None for row in again)


def test_offline_and_a_headless_folder_are_base_encoders_a_classifier_is_not(tmp_path, tiny_model_dir):
    from pathlib import Path

    from training.ask.cold import encoder_folder as base_encoder
    from training.ask.known import known_texts
    from training.backbones import ALIASES

    assert base_encoder("offline", None) == Path(ALIASES["offline"].path())
    assert base_encoder(str(encoder_folder(tmp_path / "encoder")), None) == tmp_path / "encoder"
    assert base_encoder(str(tiny_model_dir), None) is None  # a text classifier: its uncertainty ranks the pool
    assert "offline is the bundled base encoder" in known_texts("offline", []).notes[0]
