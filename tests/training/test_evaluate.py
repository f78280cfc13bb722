"""Metrics against hand-computed values, per-example loss, the errors table and the confusion figure."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from training.quality.evaluate import classification_metrics, confusion_figure, errors_table, per_example_loss

LABELS = ["a", "b", "c"]
# gold:      a a a b b c
# predicted: a a b b c c
Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 2, 2]


def test_metrics_match_hand_computed_values():
    m = classification_metrics(Y_TRUE, Y_PRED, LABELS)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P=2/2, R=2/3, F1=0.8 | b: P=1/2, R=1/2, F1=0.5 | c: P=1/2, R=1/1, F1=2/3
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["f1_macro"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["f1_weighted"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]  # rows gold, columns predicted


def test_a_class_never_seen_has_zero_scores_not_nan():
    m = classification_metrics([0, 0], [0, 0], LABELS)
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion_matrix"] == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert m["f1_macro"] == pytest.approx(1 / 3)


def test_metrics_are_json_types():
    import json

    json.dumps(classification_metrics(np.array(Y_TRUE), np.array(Y_PRED), LABELS))


def test_per_example_loss_is_cross_entropy():
    logits = np.array([[0.0, 0.0], [2.0, 0.0], [1000.0, 0.0]])  # the last one would overflow a naive softmax
    loss = per_example_loss(logits, [0, 1, 0])
    assert loss == pytest.approx([math.log(2), math.log(1 + math.e**2), 0.0])


def test_errors_table_has_every_row_sorted_by_loss():
    texts = ["t0", "t1", "t2", "t3"]
    logits = np.array([[3.0, 0.0], [0.0, 3.0], [1.0, 0.0], [0.0, 0.5]])
    table = errors_table(texts, [0, 0, 0, 1], logits, ["x", "y"])
    assert list(table.columns) == ["index", "text", "label", "predicted", "loss"]
    # losses: t0 log(1+e^-3), t1 log(1+e^3), t2 log(1+e^-1), t3 log(1+e^-0.5)
    assert list(table["index"]) == [1, 3, 2, 0]
    assert list(table["text"]) == ["t1", "t3", "t2", "t0"]
    assert list(table["predicted"]) == ["y", "y", "x", "x"]
    assert list(table["label"]) == ["x", "y", "x", "x"]
    assert table["loss"][0] == pytest.approx(math.log(1 + math.e**3))
    assert table["loss"].is_monotonic_decreasing


def test_confusion_figure_is_normalized_and_labelled():
    fig = confusion_figure([[2, 1, 0], [0, 1, 1], [0, 0, 0]], LABELS)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    assert [t.get_text() for t in ax.get_yticklabels()] == LABELS
    cells = [t.get_text() for t in ax.texts]
    assert cells[:3] == ["0.67", "0.33", "0.00"] and cells[6:] == ["0.00", "0.00", "0.00"]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
