"""config.json's label facts: the class names, whether the model is multi-label, and its tuned thresholds.

``python -m training`` writes them with ``save_pretrained`` (``id2label``, ``problem_type``) plus one key of our
own, ``label_thresholds`` (docs/output_folder.md); ``training.predict``, ``training.export``, ``training.ask`` and
the Space read them here, from a transformers config or from config.json loaded as a dict. A threshold is
checked by one rule, :func:`label_thresholds`, wherever a model is run.
"""

from __future__ import annotations

from typing import Any

MULTI_LABEL_PROBLEM = "multi_label_classification"  # config.json's problem_type of a multi-label model (transformers')
SINGLE_LABEL_PROBLEM = "single_label_classification"
THRESHOLDS_KEY = "label_thresholds"  # a multi-label model's tuned threshold per label name
DEFAULT_THRESHOLD = 0.5  # a label without a tuned threshold, and the untuned operating point


def _field(config: Any, key: str) -> Any:
    return config.get(key) if isinstance(config, dict) else getattr(config, key, None)


def is_multi_label(config: Any) -> bool:
    """Whether a model's config (a transformers config, or config.json as a dict) says it is multi-label."""
    return _field(config, "problem_type") == MULTI_LABEL_PROBLEM


def label_names(config: Any) -> list[str]:
    """A model's class names in id order, from a transformers config or config.json as a dict."""
    if isinstance(config, dict):
        return [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    return [config.id2label[i] for i in range(config.num_labels)]


def label_thresholds(config: Any) -> dict[str, float] | None:
    """A multi-label model's threshold for each label in label order (:data:`DEFAULT_THRESHOLD` for a label the
    config does not list, as a plain sigmoid classifier decides), or None for a single-label model.

    Raises:
        ValueError: ``label_thresholds`` is not an object, or one of its values is not a number from 0 to 1
            (null, text, 1.5): the message names the key and the value.
    """
    if not is_multi_label(config):
        return None
    saved = _field(config, THRESHOLDS_KEY)
    saved = {} if saved is None else saved
    if not isinstance(saved, dict):
        raise ValueError(
            f'{THRESHOLDS_KEY} is {type(saved).__name__} — expected an object of label thresholds, e.g. {{"joy": 0.35}}'
        )
    for label, value in saved.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{THRESHOLDS_KEY}[{label!r}] is {value!r} — expected a number between 0 and 1")
    return {label: float(saved.get(label, DEFAULT_THRESHOLD)) for label in label_names(config)}


def untuned_labels(config: Any) -> list[str]:
    """The labels of a multi-label model that have no saved threshold (they are predicted at 0.5)."""
    saved = _field(config, THRESHOLDS_KEY)
    saved = saved if isinstance(saved, dict) else {}
    return [label for label in label_names(config) if label not in saved]
