"""Multi-label pure functions: the threshold search by hand, every metric against scikit-learn, the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, hamming_loss, jaccard_score, roc_auc_score

from training.objectives import WeightedBinaryCrossEntropy
from training.quality.calibration import binary_logits, per_label_ece
from training.quality.evaluate import per_example_loss
from training.quality.multi_label import (
    POS_WEIGHT_CAP,
    bce_per_text,
    errors_table,
    multi_label_metrics,
    positive_weights,
    predict_sets,
    prior_log_odds,
    sigmoid,
    tune_thresholds,
)

LABELS = ["a", "b", "c"]


def test_per_label_thresholds_by_hand():
    """Label a: positives at 0.9 and 0.4, negatives at 0.6 and 0.1. Its F1 by threshold: 0.1 -> 4/6 (all
    predicted), (0.1, 0.4] -> 0.8 (three predicted, two right), (0.4, 0.6] -> 2/3, (0.6, 0.9] -> 2/3. The best
    is 0.8 for every threshold in 0.11..0.40; of equal scores the one nearest 0.5 wins: 0.40.
    Label b has no positive: it keeps 0.5, and the notes say so."""
    probabilities = np.array([[0.9, 0.2, 0.5], [0.4, 0.3, 0.5], [0.6, 0.1, 0.5], [0.1, 0.7, 0.5]])
    gold = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 0, 0]])
    thresholds, notes = tune_thresholds(gold, probabilities, LABELS)
    assert thresholds[0] == pytest.approx(0.40) and thresholds[1] == 0.5
    assert thresholds[2] <= 0.5  # c: every text at 0.5, two positives: predict all (F1 0.8) rather than none
    assert notes == ["no validation example of b: threshold 0.5 kept (nothing to tune it on)"]


def test_one_global_threshold_for_micro_f1_and_samples_jaccard():
    rng = np.random.default_rng(0)
    gold = (rng.random((200, 3)) < 0.3).astype(int)
    probabilities = np.clip(gold * 0.35 + rng.random((200, 3)) * 0.6, 0, 1)
    for objective in ("micro-f1", "samples-jaccard"):
        thresholds, _ = tune_thresholds(gold, probabilities, LABELS, objective)
        assert len(set(thresholds)) == 1
        grid = np.round(np.arange(0.01, 1.0, 0.01), 2)

        def score(t, objective=objective):
            predicted = predict_sets(probabilities, np.full(3, t))
            if objective == "micro-f1":
                return f1_score(gold, predicted, average="micro", zero_division=0)
            return jaccard_score(gold, predicted, average="samples", zero_division=1)

        assert score(thresholds[0]) == pytest.approx(max(score(t) for t in grid))


def test_every_metric_matches_scikit_learn():
    rng = np.random.default_rng(1)
    gold = (rng.random((300, 3)) < 0.35).astype(int)
    probabilities = np.clip(gold * 0.3 + rng.random((300, 3)) * 0.7, 0, 1)
    thresholds = np.array([0.4, 0.5, 0.6])
    metrics = multi_label_metrics(gold, probabilities, thresholds, LABELS)
    predicted = predict_sets(probabilities, thresholds)
    for average in ("micro", "macro", "weighted"):
        assert metrics[f"f1_{average}"] == pytest.approx(f1_score(gold, predicted, average=average, zero_division=0))
    assert metrics["f1_samples"] == pytest.approx(f1_score(gold, predicted, average="samples", zero_division=1.0))
    assert metrics["jaccard_samples"] == pytest.approx(
        jaccard_score(gold, predicted, average="samples", zero_division=1)
    )
    assert metrics["hamming_loss"] == pytest.approx(hamming_loss(gold, predicted))
    assert metrics["exact_match"] == metrics["accuracy"] == pytest.approx(accuracy_score(gold, predicted))
    assert metrics["roc_auc_macro"] == pytest.approx(roc_auc_score(gold, probabilities, average="macro"))
    assert metrics["per_class"]["b"]["threshold"] == 0.5
    assert metrics["per_class"]["c"]["support"] == int(gold[:, 2].sum())
    half = predict_sets(probabilities, np.full(3, 0.5))
    assert metrics["at_0_5"]["f1_macro"] == pytest.approx(f1_score(gold, half, average="macro", zero_division=0))


def test_texts_with_no_label_and_no_prediction_are_right_answers():
    gold = np.array([[0, 0, 0], [1, 0, 0]])
    metrics = multi_label_metrics(gold, np.array([[0.1, 0.1, 0.1], [0.9, 0.1, 0.1]]), np.full(3, 0.5), LABELS)
    assert metrics["f1_samples"] == metrics["jaccard_samples"] == metrics["exact_match"] == 1.0
    assert metrics["roc_auc_macro"] == 1.0  # only label a has both classes: it alone counts


def test_the_loss_per_text_and_the_error_table():
    logits = np.array([[2.0, -1.0, -0.1], [-3.0, 3.0, 1.0]])
    gold = np.array([[1, 0, 0], [1, 1, 0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(logits), torch.tensor(gold, dtype=torch.float64), reduction="none"
    ).mean(dim=1)
    np.testing.assert_allclose(bce_per_text(logits, gold), expected.numpy())
    table = errors_table(["first", "second"], gold, logits, [0.5, 0.5, 0.5], LABELS)
    assert list(table.columns) == ["index", "text", "label", "predicted", "loss"]
    assert table.iloc[0].tolist()[:4] == [1, "second", "a;b", "b;c"]  # the highest loss first
    assert table.iloc[1]["predicted"] == "a" and table.iloc[1]["label"] == "a"


def test_positive_weights_are_negatives_over_positives_capped():
    gold = np.zeros((100, 3))
    gold[:50, 0], gold[:4, 1] = 1, 1  # a: 50/50 -> 1; b: 96/4 = 24 -> the cap; c: no positive -> 1
    assert np.allclose(positive_weights(gold, "balanced"), [1.0, POS_WEIGHT_CAP, 1.0])
    assert positive_weights(gold, "none") is None
    loss = WeightedBinaryCrossEntropy((1.0, 2.0, 1.0))
    logits, labels = torch.tensor([[0.5, -0.5, 1.0]]), torch.tensor([[1.0, 1.0, 0.0]])
    by_hand = np.mean([np.log1p(np.exp(-0.5)), 2 * np.log1p(np.exp(0.5)), np.log1p(np.exp(1.0))])
    assert float(loss({"logits": logits}, labels)) == pytest.approx(by_hand, rel=1e-6)


def test_prior_log_odds_start_the_head_at_the_label_rates():
    gold = np.zeros((98, 2))
    gold[:48, 0] = 1  # (48 + 1) / (98 + 2) = 0.49; label 1 has none: 1 / 100
    np.testing.assert_allclose(sigmoid(prior_log_odds(gold)), [0.49, 0.01])


def test_per_label_ece_is_the_binary_ece_and_the_pooled_nll_is_the_bce():
    logits = np.array([[2.0, -1.0], [0.5, 1.5], [-2.0, 0.2]])
    gold = np.array([[1, 0], [0, 1], [0, 0]])
    pooled = binary_logits(logits)
    np.testing.assert_allclose(
        per_example_loss(pooled, gold.reshape(-1)), bce_per_text(logits.reshape(-1, 1), gold.reshape(-1, 1))
    )
    ece = per_label_ece(logits, gold, ["x", "y"])
    p = sigmoid(logits[:, 0])  # label x: top-label confidences 0.881, 0.622, 0.881; right, wrong, right
    confidence, right = np.maximum(p, 1 - p), (p >= 0.5) == gold[:, 0]
    assert right.tolist() == [True, False, True]
    by_bins = (abs(right[[0, 2]].mean() - confidence[[0, 2]].mean()) * 2 + abs(0 - confidence[1])) / 3
    assert ece["x"] == pytest.approx(by_bins)


def test_class_weights_auto_is_balanced_for_single_label_and_none_for_multi_label():
    from training.objectives import WeightedCrossEntropy, loss_function

    gold = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    assert loss_function(LABELS, gold, "auto", multi_label=True) == (None, None)
    loss, weights = loss_function(LABELS, gold, "balanced", multi_label=True)
    assert isinstance(loss, WeightedBinaryCrossEntropy) and weights == {"a": 1.0, "b": 1.0, "c": 3.0}
    loss, weights = loss_function(LABELS, [0, 0, 0, 1], "auto", multi_label=False)
    assert isinstance(loss, WeightedCrossEntropy) and set(weights) == set(LABELS)
