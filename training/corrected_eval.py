"""``--correct-eval``: an audit sheet's validation and test rows applied to the evaluation data, and the figures
the model would have been given on the data as it was.

Without ``--correct-eval`` the rows of ``training.audit`` sheets that name a validation or test text change nothing
(``training.corrections.audit``): runs before and after corrections are then evaluated on the same data. With it,
the evaluation splits are relabelled and pruned as the sheet says, every figure of the run (calibration,
thresholds, ``metrics.json["eval"]``, the card) is on the corrected data, and ``metrics.json`` keeps the model's
figures on the uncorrected splits as ``eval_before_corrections``, so that the card reports both.
"""

from __future__ import annotations

import numpy as np

from training.corrections.audit import audit_decisions, correct_evaluation
from training.corrections.records import load_flag_records
from training.data.load import EVALUATION_SPLITS, LoadedData, gold_labels, replace_splits
from training.quality.evaluate import classification_metrics
from training.quality.multi_label import multi_label_metrics
from training.runtime import sigmoid
from training.train import predict_logits, tokenize_splits


def correct_evaluation_splits(data: LoadedData, config) -> tuple[LoadedData, dict]:
    """The data with its evaluation splits corrected, and the uncorrected ones that changed (split -> Dataset).

    Args:
        data: the data after ``--corrections`` fixed its training split.
        config: the run's options (``corrections``, ``correct_eval``).
    """
    if not (config.corrections and config.correct_eval):
        return data, {}
    records = load_flag_records(config.corrections)
    _, decisions = audit_decisions(records, data.labels, data.multi_label, config.corrections)
    touched = {name for name in EVALUATION_SPLITS if decisions.labels.get(name) or decisions.dropped.get(name)}
    splits = correct_evaluation(data.splits, decisions, data.labels, data.multi_label)
    uncorrected = {name: data.splits[name] for name in sorted(touched) if name in data.splits}
    return replace_splits(data, {**data.splits, **{name: splits[name] for name in uncorrected}}), uncorrected


def uncorrected_logits(trainer, tokenizer, uncorrected: dict, config, num_labels: int | None) -> dict:
    """The saved model's logits on the uncorrected evaluation splits: called after calibration, whose temperature
    is folded into the model; on every process (prediction is collective)."""
    if not uncorrected:
        return {}
    tokenized = tokenize_splits(uncorrected, tokenizer, config.max_length, num_labels)
    return {name: predict_logits(trainer, dataset) for name, dataset in tokenized.items()}


def metrics_before(data: LoadedData, uncorrected: dict, logits: dict, thresholds) -> dict:
    """``metrics.json["eval_before_corrections"]``: the model's metrics on each uncorrected split.

    Args:
        data: the run's data (its labels and task).
        uncorrected: split -> the split before ``--correct-eval``.
        logits: split -> the saved (calibrated) model's logits on it (:func:`uncorrected_logits`).
        thresholds: a multi-label model's thresholds in label order (None for single-label).
    """
    if not logits:
        return {}
    before = replace_splits(data, {**data.splits, **uncorrected})
    metrics = {}
    for name, logit in logits.items():
        gold = gold_labels(before, name)
        if data.multi_label:
            metrics[name] = multi_label_metrics(gold, sigmoid(logit), np.asarray(thresholds), data.labels)
        else:
            metrics[name] = classification_metrics(list(gold), logit.argmax(-1), data.labels)
    return metrics
