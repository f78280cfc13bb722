"""Multi-label models in the Space: the predicted set, the answer of /predict, a flag's set of labels and its
record, and how a set is written in a CSV cell.

A multi-label model (its config's ``"problem_type": "multi_label_classification"``) gives each label its own
probability (a sigmoid; they do not sum to 1) and predicts every label at or above that label's threshold
(the config's ``label_thresholds``, read by backend.py into ``Backend.thresholds``). A text may get several
labels, or none.

The record contract with ``training --corrections`` (training/corrections/records.py reads it): a multi-label record
has every field of a single-label one, with ``predicted_label`` and ``corrected_label`` null (they keep their
single-label meaning), plus ``predicted_labels`` (the labels that passed their thresholds) and
``corrected_labels`` (the labels the visitor checked, possibly none: "none of these"), both lists in the
model's label order. ``scores`` holds every label's probability. Single-label records have neither list.
"""

from __future__ import annotations

from typing import Any

import flags

NO_LABEL = "no label passes its threshold"
NONE_VOTE = "(none)"  # the empty set in the review sheet's votes column, where an empty word would vanish


def is_multi_label(model: Any) -> bool:
    """Whether ``model`` (a loaded backend) is multi-label: it has a threshold per label."""
    return getattr(model, "thresholds", None) is not None


def predicted_set(scores: dict[str, float], labels: list[str], thresholds: dict[str, float]) -> list[str]:
    """The labels whose probability reaches their threshold, in the model's label order."""
    return [label for label in labels if scores[label] >= thresholds[label]]


def headline(predicted: list[str]) -> str:
    """What the page shows as the prediction: ``predicted: joy, love``, or that no label passes its threshold."""
    return f"predicted: {', '.join(predicted)}" if predicted else NO_LABEL


def answer(scores: dict[str, float], model: Any) -> dict:
    """/predict's answer for a multi-label model: the headline as ``label``, every label's own probability as
    ``confidences`` (highest first) and the predicted set as ``predicted`` (page.set_label shows it)."""
    predicted = predicted_set(scores, model.labels, model.thresholds)
    return {"label": headline(predicted), "confidences": scores, "predicted": predicted}


def checked_set(value: Any, labels: list[str]) -> list[str]:
    """The labels a flag says are right, in the model's label order, each once; ``[]`` means none of these.

    ``value`` comes from the page's check boxes or, untrusted, from any API client.

    Raises:
        ValueError: not a list of the model's labels (the message names the first wrong value, shortened).
    """
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of labels, got {type(value).__name__}")
    unknown = [item for item in value if not isinstance(item, str) or item not in labels]
    if unknown:
        raise ValueError(f"{str(unknown[0])[:40]!r} is not a class of the model")
    return [label for label in labels if label in value]


def make_set_record(*, predicted_labels: list[str], corrected_labels: list[str], **fields) -> dict:
    """A multi-label flag record (the module docstring's contract), fields in :data:`formats.flag_record.FIELDS` order.

    Args:
        predicted_labels: the labels that passed their thresholds, in the model's label order.
        corrected_labels: the labels the visitor says are right, in the model's label order; may be empty.
        **fields: the other fields of :func:`flags.make_record` but ``corrected_label`` (``text``, ``scores`` —
            every label's own probability —, ``note``, ``model``, ``model_revision``, ``client``).
    """
    record = flags.make_record(**fields, corrected_label=None)
    # No single label was predicted: the top score alone means nothing for a set.
    record["predicted_label"] = None
    record["predicted_labels"] = list(predicted_labels)
    record["corrected_labels"] = list(corrected_labels)
    return record
