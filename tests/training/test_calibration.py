"""Calibration: ECE by hand, the fitted temperature, and folding it into a model's last layer."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from tests.conftest import CUES, make_texts
from training.quality.calibration import (
    at_search_bound,
    calibrate,
    expected_calibration_error,
    fit_temperature,
    fold_temperature,
    negative_log_likelihood,
    reliability_bins,
    reliability_figure,
)
from training.runtime import softmax

# Two classes; top probabilities 0.9 (right), 0.9 (wrong), 0.7 (right), 0.85 (right). With 15 bins of
# width 1/15 they fall in bins 13, 13, 10 and 12 (none on an edge):
#   bin 13: confidence 0.9, accuracy 0.5, gap 0.4, 2 examples
#   bin 10: confidence 0.7, accuracy 1.0, gap 0.3, 1 example
#   bin 12: confidence 0.85, accuracy 1.0, gap 0.15, 1 example
# ECE = (2 * 0.4 + 0.3 + 0.15) / 4 = 0.3125.
HAND_PROBS = np.array([[0.9, 0.1], [0.9, 0.1], [0.7, 0.3], [0.15, 0.85]])
HAND_LABELS = np.array([0, 1, 0, 1])


def test_ece_on_a_hand_made_example():
    assert expected_calibration_error(HAND_PROBS, HAND_LABELS) == pytest.approx(0.3125)
    # One bin: |mean accuracy - mean confidence| = |0.75 - 0.8375|
    assert expected_calibration_error(HAND_PROBS, HAND_LABELS, bins=1) == pytest.approx(0.0875)
    rows = reliability_bins(HAND_PROBS, HAND_LABELS)
    assert [(b, row["count"]) for b, row in enumerate(rows) if row["count"]] == [(10, 1), (12, 1), (13, 2)]
    assert rows[13]["accuracy"] == 0.5 and rows[13]["confidence"] == pytest.approx(0.9)


def test_ece_is_zero_for_certain_right_answers_and_one_for_certain_wrong_ones():
    certain = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(certain, [0, 1]) == 0.0  # confidence 1.0 falls in the last bin
    assert expected_calibration_error(certain, [1, 0]) == 1.0


def test_nll_is_the_mean_cross_entropy():
    logits = np.log(HAND_PROBS)
    expected = -np.mean(np.log(HAND_PROBS[np.arange(4), HAND_LABELS]))
    assert negative_log_likelihood(logits, HAND_LABELS) == pytest.approx(expected)
    assert negative_log_likelihood(2 * logits, HAND_LABELS, temperature=2.0) == pytest.approx(expected)


def overconfident_logits(scale: float, n: int = 4000, classes: int = 4, seed: int = 0):
    """Labels drawn from softmax(z) (so z is calibrated), and the logits ``scale * z`` a model would give."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, size=(n, classes))
    labels = np.array([rng.choice(classes, p=p) for p in softmax(z)])
    return scale * z, labels


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0])
def test_fitted_temperature_undoes_a_known_scale(scale):
    logits, labels = overconfident_logits(scale)
    temperature = fit_temperature(logits, labels)
    assert temperature == pytest.approx(scale, rel=0.1)
    assert negative_log_likelihood(logits, labels, temperature) <= negative_log_likelihood(logits, labels)
    if scale != 1.0:  # scaling fixes the probabilities it was fitted for
        assert expected_calibration_error(softmax(logits / temperature), labels) < expected_calibration_error(
            softmax(logits), labels
        )


def test_fitted_temperature_never_makes_the_nll_worse():
    for seed in range(5):  # tiny, noisy splits included
        logits, labels = overconfident_logits(1.0, n=12, seed=seed)
        temperature = fit_temperature(logits, labels)
        assert temperature > 0
        assert negative_log_likelihood(logits, labels, temperature) <= negative_log_likelihood(logits, labels)


def model_and_probe(directory):
    """The model of ``directory`` and a batch of 24 fixture texts (whatever the model's labels)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    texts = [text for text, _ in make_texts(list(CUES), 4, seed=5)]
    return model, dict(tokenizer(texts, padding=True, return_tensors="pt"))


def logits_of(model, batch) -> np.ndarray:
    with torch.no_grad():
        return model(**batch).logits.double().numpy()


@pytest.mark.parametrize("fixture", ["trained_tiny_dir", "tiny_bert_dir"])
def test_folding_keeps_labels_and_divides_the_logits(fixture, request):
    model, probe = model_and_probe(request.getfixturevalue(fixture))  # six emotions, or three sentiments
    before = logits_of(model, probe)
    temperature = 2.5
    assert fold_temperature(model, temperature, probe) is None
    after = logits_of(model, probe)
    assert (after.argmax(1) == before.argmax(1)).all()  # the predicted labels do not change
    by_hand = np.exp(before / temperature) / np.exp(before / temperature).sum(1, keepdims=True)
    assert np.allclose(softmax(after), by_hand, atol=1e-5)
    assert not np.allclose(softmax(after), softmax(before), atol=1e-5)  # the probabilities did change


class Slice(torch.nn.Module):
    """A head output that is not a linear layer's: the first ``n`` of a wider layer's outputs."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x[..., : self.n]


def test_a_head_without_a_final_linear_layer_is_skipped_and_says_why(trained_tiny_dir):
    model, probe = model_and_probe(trained_tiny_dir)
    classes = model.config.num_labels
    model.classifier = torch.nn.Sequential(torch.nn.Linear(model.config.dim, classes + 1), Slice(classes))
    assert "no final linear layer" in fold_temperature(model, 2.0, probe)

    # A linear layer followed by something else: the check catches it and the weights are restored.
    model, probe = model_and_probe(trained_tiny_dir)
    model.classifier = torch.nn.Sequential(model.classifier, torch.nn.Tanh())
    before = logits_of(model, probe)
    reason = fold_temperature(model, 2.0, probe)
    assert "not its last linear layer" in reason and "\n" not in reason
    assert np.allclose(logits_of(model, probe), before)


def test_calibrate_folds_only_when_enabled(trained_tiny_dir):
    model, probe = model_and_probe(trained_tiny_dir)
    before = logits_of(model, probe)
    # Validation logits three times too confident: T is about 3 and it lowers both NLL and ECE.
    logits, labels = overconfident_logits(3.0, n=1000)
    validation, gold = {"validation": logits}, {"validation": labels}

    off = calibrate(model, probe, validation, gold, enabled=False)
    assert (off.applied, off.reason) == (False, "the run was made with --no-calibrate")
    assert np.allclose(logits_of(model, probe), before)  # untouched
    assert off.temperature == pytest.approx(fit_temperature(logits, labels))

    on = calibrate(model, probe, validation, gold, enabled=True)
    assert on.applied and on.reason is None
    assert np.allclose(logits_of(model, probe), before / on.temperature, atol=1e-4)
    report = on.report["validation"]
    assert report["nll_after"] <= report["nll_before"] and report["ece_after"] < report["ece_before"]
    assert set(on.as_json()) >= {"temperature", "applied", "bins", "validation"}


def test_reliability_figure_shows_both_sides():
    logits, labels = overconfident_logits(3.0, n=300)
    figure = reliability_figure(logits, labels, temperature=3.0, split="test")
    assert isinstance(figure, Figure)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[0].startswith("before scaling") and "T = 3.000" in titles[1]


def test_a_temperature_that_would_raise_the_validation_ece_is_not_folded_in(trained_tiny_dir):
    """90 right answers at p = 0.92 (under-confident) and 10 at p = 0.9997 of which 3 are wrong: the NLL
    wants T > 1 for the three, which makes the 90 even less confident, so the ECE rises."""
    model, probe = model_and_probe(trained_tiny_dir)
    before = logits_of(model, probe)
    margins = np.array([2.5] * 90 + [8.0] * 10)
    logits = np.stack([margins, np.zeros(100)], axis=1)
    gold = np.array([0] * 97 + [1] * 3)
    result = calibrate(model, probe, {"validation": logits}, {"validation": gold}, enabled=True)
    report = result.report["validation"]
    assert result.temperature > 1 and report["nll_after"] < report["nll_before"]
    assert report["ece_after"] > report["ece_before"]
    assert not result.applied
    assert result.reason.startswith(f"T = {result.temperature:.3f} would raise the validation ECE from")
    assert np.allclose(logits_of(model, probe), before)  # the model is left as trained


@pytest.mark.parametrize("all_right", [True, False])
def test_a_validation_split_without_errors_or_right_answers_is_not_calibrated_on(trained_tiny_dir, all_right):
    """All right: the NLL falls as T -> 0, and folding that in would make every bar 100% (the demo's sample)."""
    model, probe = model_and_probe(trained_tiny_dir)
    before = logits_of(model, probe)
    logits, _ = overconfident_logits(1.0, n=200)
    predicted = logits.argmax(1)
    gold = predicted if all_right else (predicted + 1) % logits.shape[1]
    result = calibrate(model, probe, {"validation": logits}, {"validation": gold}, enabled=True)
    assert not result.applied
    word = "right" if all_right else "wrong"
    assert result.reason.startswith(f"every validation prediction is {word}, so there are no")
    assert result.temperature < 1 if all_right else result.temperature > 1  # the bound it ran to
    assert np.allclose(logits_of(model, probe), before)


def test_a_temperature_at_the_bound_of_its_search_is_reported_and_not_folded_in(trained_tiny_dir):
    """Logits 50 times too timid: the NLL-optimal T is 0.02, below the search's 0.05; the fit stops at the bound."""
    model, probe = model_and_probe(trained_tiny_dir)
    before = logits_of(model, probe)
    logits, labels = overconfident_logits(1 / 50, n=1000)
    result = calibrate(model, probe, {"validation": logits}, {"validation": labels}, enabled=True)
    assert result.temperature == pytest.approx(0.05, rel=1e-3) and at_search_bound(result.temperature)
    assert not result.applied
    assert result.reason.startswith("T = 0.050 is the bound of the search (0.05 to 20)")
    assert np.allclose(logits_of(model, probe), before)
    assert not at_search_bound(fit_temperature(*overconfident_logits(3.0, n=1000)))
