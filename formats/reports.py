"""Typed readers of a run's reports: ``metrics.json`` and ``train_config.json`` as named fields, not dict paths.

``python -m training`` writes both files (keys in docs/output_folder.md); the model card (``publish.card``),
``training.compare`` and the Space's header (``space/about.py``) read them here, so that each key is spelt in
one place, and so is the demo-model rule (:func:`is_demo_model`).

**A field of an unexpected shape reads as absent, never as an error.** A number that is a string (``"0.9"``), a
text that is a list, sizes given as a list, ``calibration: "yes"``, ``data: "imdb"``: the field becomes None (a
single value), empty (a mapping or a list: ``{}``, ``()``) or, for a whole section that is not an object, None.
Nothing is parsed or guessed (``"0.9"`` is not read as 0.9, ``"yes"`` is not True), and the readers never raise
on what a file holds. A reader that can do without a fact leaves it out (the Space's header); a reader that
*requires* one (the card needs ``labels`` and each split's headline figures) checks the typed field and names
the field in its own one-line error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from formats.output_folder import BACKENDS, MULTI_LABEL, canonical_backend, headline_split
from formats.shapes import count, counts, flag, number, numbers, section, strings, text, texts

# Exports before metrics.json recorded them measured on validation, and guarded the int8 model on accuracy.
EARLIER_EXPORT_SPLIT, EARLIER_EXPORT_GUARD = "validation", "accuracy"


# --- metrics.json ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassScores:
    """One class (a label of a multi-label model) in an ``eval`` split's ``per_class``."""

    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    support: int | None = None
    threshold: float | None = None  # multi-label: the label's tuned threshold


@dataclass(frozen=True)
class SplitScores:
    """One split of ``eval`` (or of a baseline): the headline figures and the per-class table; a multi-label
    model's split adds its own figures, and the same at 0.5 under ``at_0_5``."""

    accuracy: float | None = None  # multi-label: exact match
    f1_macro: float | None = None
    f1_weighted: float | None = None
    f1_micro: float | None = None
    f1_samples: float | None = None
    exact_match: float | None = None
    hamming_loss: float | None = None
    jaccard_samples: float | None = None
    roc_auc_macro: float | None = None
    per_class: dict[str, ClassScores] = field(default_factory=dict)
    at_0_5: SplitScores | None = None

    def figure(self, key: str) -> float | None:
        """The figure named by its metrics.json key (``"f1_macro"``), or None."""
        return getattr(self, key) if key in SCORE_KEYS else None


SCORE_KEYS = tuple(f.name for f in fields(SplitScores) if f.name not in ("per_class", "at_0_5"))


@dataclass(frozen=True)
class Thresholds:
    """A multi-label run's decision thresholds: how they were tuned, their values, what training noted."""

    objective: str | None
    values: dict[str, float]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    """``training.schedule``: why training ran the epochs it ran, and the loss weights it used."""

    reason: str
    class_weights: dict[str, float]  # single-label, with balanced class weights
    positive_weights: dict[str, float]  # multi-label, with weighted positives


@dataclass(frozen=True)
class Training:
    """``training``: how long fine-tuning took, where, and its log (one entry per epoch)."""

    seconds: float | None = None
    samples_per_second: float | None = None
    device: str | None = None
    log: tuple[dict[str, Any], ...] = ()
    schedule: Schedule | None = None


@dataclass(frozen=True)
class CalibrationSplit:
    """One split of ``calibration``: the ECE and NLL before and after temperature scaling."""

    ece_before: float | None
    ece_after: float | None
    nll_before: float | None
    nll_after: float | None
    per_label_ece_before: dict[str, float] | None  # multi-label only
    per_label_ece_after: dict[str, float] | None

    @property
    def complete(self) -> bool:
        """Whether all four figures are there."""
        return None not in (self.ece_before, self.ece_after, self.nll_before, self.nll_after)


@dataclass(frozen=True)
class Calibration:
    """``calibration``: the fitted temperature, whether it was folded in (and why not), the figures per split."""

    applied: bool | None
    temperature: float | None
    reason: str | None
    bins: int | None
    splits: dict[str, CalibrationSplit]


@dataclass(frozen=True)
class BackendScores:
    """One backend of ``export`` (``torch``, ``onnx-fp32``, ``onnx-int8``)."""

    accuracy: float | None
    f1_micro: float | None  # multi-label
    p50_ms: float | None
    size_mb: float | None


@dataclass(frozen=True)
class Export:
    """``export``, written by ``training.export``: each backend under today's name, and the int8 guard's verdict."""

    split: str
    guard: str  # the figure the int8 check compares
    backends: dict[str, BackendScores]
    int8_accepted: bool | None
    reason: str | None


@dataclass(frozen=True)
class DataReport:
    """``data`` of metrics.json: the source, the split sizes, training's warnings about the data."""

    source: str | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Metrics:
    """metrics.json, read by :func:`read_metrics`."""

    labels: tuple[str, ...] | None
    multi_label: bool
    eval: dict[str, SplitScores]
    baselines: dict[str, dict[str, SplitScores]]  # name -> split -> scores
    thresholds: Thresholds | None
    training: Training
    calibration: Calibration | None
    data: DataReport
    export: Export | None
    embedding_map_method: str | None

    @property
    def headline_split(self) -> str:
        """The split of the headline figures (:func:`formats.output_folder.headline_split`)."""
        return headline_split(self.eval)


def read_metrics(content: Any) -> Metrics:
    """metrics.json (loaded as a dict) as named fields; a field of an unexpected shape reads as absent (module
    docstring). Never raises."""
    content = section(content)
    return Metrics(
        labels=read_labels(content.get("labels")),
        multi_label=is_multi_label_task(content.get("task")),
        eval=read_splits(content.get("eval")),
        baselines={name: read_splits(splits) for name, splits in section(content.get("baselines")).items()},
        thresholds=read_thresholds(content.get("thresholds")),
        training=read_training(content.get("training")),
        calibration=read_calibration(content.get("calibration")),
        data=read_data_report(content.get("data")),
        export=read_export(content.get("export")),
        embedding_map_method=text(section(content.get("embedding_map")).get("method")),
    )


def is_multi_label_task(task: Any) -> bool:
    """Whether metrics.json's ``task`` says multi-label (``multi-label``; ``multi_label`` read the same)."""
    return isinstance(task, str) and task.replace("_", "-") == MULTI_LABEL


def read_labels(value: Any) -> tuple[str, ...] | None:
    """The class names (numbers written as text), or None when ``labels`` is not a list of names."""
    if not isinstance(value, list) or not all(isinstance(v, str) or count(v) is not None for v in value):
        return None
    return tuple(str(label) for label in value)


def read_splits(value: Any) -> dict[str, SplitScores]:
    """``eval`` (or one baseline): split name -> scores; a split that is not an object has no figures."""
    return {split: read_split_scores(scores) for split, scores in section(value).items()}


def read_split_scores(value: Any) -> SplitScores:
    """One split's figures; ``at_0_5`` read the same way when it is an object."""
    value = section(value)
    at_0_5 = value.get("at_0_5")
    return SplitScores(
        **{key: number(value.get(key)) for key in SCORE_KEYS},
        per_class={
            label: read_class_scores(scores)
            for label, scores in section(value.get("per_class")).items()
            if isinstance(scores, Mapping)
        },
        at_0_5=read_split_scores(at_0_5) if isinstance(at_0_5, Mapping) else None,
    )


def read_class_scores(value: Mapping[str, Any]) -> ClassScores:
    """One class of ``per_class``."""
    return ClassScores(
        precision=number(value.get("precision")),
        recall=number(value.get("recall")),
        f1=number(value.get("f1")),
        support=count(value.get("support")),
        threshold=number(value.get("threshold")),
    )


def read_thresholds(value: Any) -> Thresholds | None:
    """``thresholds`` of a multi-label run, or None when it is not an object."""
    if not isinstance(value, Mapping):
        return None
    return Thresholds(text(value.get("objective")), numbers(value.get("values")), strings(value.get("notes")))


def read_training(value: Any) -> Training:
    """``training``; a ``schedule`` without its ``reason`` in words reads as no schedule."""
    value = section(value)
    schedule = section(value.get("schedule"))
    reason = text(schedule.get("reason"))
    log = value.get("log")
    return Training(
        seconds=number(value.get("seconds")),
        samples_per_second=number(value.get("samples_per_second")),
        device=text(value.get("device")),
        log=tuple(entry for entry in log if isinstance(entry, dict)) if isinstance(log, list) else (),
        schedule=(
            Schedule(reason, numbers(schedule.get("class_weights")), numbers(schedule.get("positive_weights")))
            if reason is not None
            else None
        ),
    )


def read_calibration(value: Any) -> Calibration | None:
    """``calibration``, or None when it is not an object (runs before calibration have none)."""
    if not isinstance(value, Mapping):
        return None
    return Calibration(
        applied=flag(value.get("applied")),
        temperature=number(value.get("temperature")),
        reason=text(value.get("reason")),
        bins=count(value.get("bins")),
        splits={
            split: read_calibration_split(value[split])
            for split in ("validation", "test")
            if isinstance(value.get(split), Mapping)
        },
    )


def read_calibration_split(value: Mapping[str, Any]) -> CalibrationSplit:
    """One split of ``calibration``."""
    before, after = value.get("per_label_ece_before"), value.get("per_label_ece_after")
    return CalibrationSplit(
        ece_before=number(value.get("ece_before")),
        ece_after=number(value.get("ece_after")),
        nll_before=number(value.get("nll_before")),
        nll_after=number(value.get("nll_after")),
        per_label_ece_before=numbers(before) if isinstance(before, Mapping) else None,
        per_label_ece_after=numbers(after) if isinstance(after, Mapping) else None,
    )


def read_export(value: Any) -> Export | None:
    """``export`` with its backends under today's names (runs exported before the rename have ``pytorch``,
    ``onnx_fp32``, ``onnx_int8``), or None when the run was not exported."""
    if not isinstance(value, Mapping) or not value:
        return None
    return Export(
        split=text(value.get("split")) or EARLIER_EXPORT_SPLIT,
        guard=text(value.get("guard")) or EARLIER_EXPORT_GUARD,
        backends={
            canonical_backend(name): BackendScores(
                accuracy=number(scores.get("accuracy")),
                f1_micro=number(scores.get("f1_micro")),
                p50_ms=number(scores.get("p50_ms")),
                size_mb=number(scores.get("size_mb")),
            )
            for name, scores in value.items()
            if isinstance(scores, Mapping) and canonical_backend(name) in BACKENDS
        },
        int8_accepted=flag(value.get("int8_accepted")),
        reason=text(value.get("reason")),
    )


def read_data_report(value: Any) -> DataReport:
    """``data`` of metrics.json."""
    value = section(value)
    return DataReport(
        source=text(value.get("source")), sizes=counts(value.get("sizes")), warnings=strings(value.get("warnings"))
    )


# --- train_config.json -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataSource:
    """``data`` of train_config.json: where the data came from and the fingerprints of what was read."""

    source: str | None = None  # what --data was (a local path by its name)
    revision: str | None = None  # of a Hub dataset
    files: dict[str, str] = field(default_factory=dict)  # local file name -> sha256
    split_sha256: dict[str, str] = field(default_factory=dict)  # split -> sha256 of its rows
    sizes: dict[str, int] = field(default_factory=dict)
    synthetic_sample: bool = False  # trained on the bundled synthetic sample (data/sample)
    fallback: bool = False  # the earlier key: the synthetic sample, as a fallback from the Hub


@dataclass(frozen=True)
class TrainConfig:
    """train_config.json, read by :func:`read_train_config`."""

    options: dict[str, Any]  # ``config``: the resolved TrainConfig, as published
    versions: dict[str, str | None]  # library -> version (None: not installed)
    data: DataSource
    hardware: dict[str, str]  # name, device, precision
    backbone_hub_id: str | None  # ``backbone.hub_id``: the backbone's Hub id, when it came from the Hub

    @property
    def max_length(self) -> int | None:
        """The token limit texts were truncated to (``config.max_length``)."""
        return count(self.options.get("max_length"))


def read_train_config(content: Any) -> TrainConfig:
    """train_config.json (loaded as a dict) as named fields; a field of an unexpected shape reads as absent
    (module docstring). Never raises."""
    content = section(content)
    versions = section(content.get("versions"))
    return TrainConfig(
        options=dict(section(content.get("config"))),
        versions={name: v for name, v in versions.items() if v is None or isinstance(v, str)},
        data=read_data_source(content.get("data")),
        hardware=texts(content.get("hardware")),
        backbone_hub_id=text(section(content.get("backbone")).get("hub_id")),
    )


def read_data_source(value: Any) -> DataSource:
    """``data`` of train_config.json (a plain string such as ``"imdb"`` is no object: nothing is known)."""
    value = section(value)
    return DataSource(
        source=text(value.get("source")),
        revision=text(value.get("revision")),
        files=texts(value.get("files")),
        split_sha256=texts(value.get("split_sha256")),
        sizes=counts(value.get("sizes")),
        synthetic_sample=value.get("synthetic_sample") is True,
        fallback=value.get("fallback") is True,
    )


def is_demo_model(train_config: TrainConfig) -> bool:
    """Whether the model was trained on the bundled synthetic sample, not real data: ``data.synthetic_sample``,
    or ``data.fallback`` of runs before it."""
    return train_config.data.synthetic_sample or train_config.data.fallback
