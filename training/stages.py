"""What each stage of the training pipeline (``training/__main__.py``) hands the next: small frozen records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.backbones import Backbone
from training.config import TrainConfig
from training.data.load import LoadedData
from training.quality.calibration import Calibration
from training.train import FineTuned, Hardware


@dataclass(frozen=True)
class Job:
    """The options as the user gave them, and where this process runs."""

    config: TrainConfig
    user_set: set[str]  # the options the user set (printed with a *)
    hardware: Hardware
    state: object  # accelerate's PartialState: this process's rank, device, the collective barriers
    out: Path  # where this run writes: a hidden sibling of `folder`, swapped in whole at the end
    folder: Path  # the output folder the user named (--output-dir)

    @property
    def main_process(self) -> bool:
        return self.state.is_main_process

    @property
    def device(self) -> str:
        return str(self.state.device)


@dataclass(frozen=True)
class Inputs:
    """The data to train on, and what became of the options that name it."""

    config: TrainConfig  # the job's, with data = the bundled sample when the fallback was taken
    data: LoadedData
    fallback: bool  # the bundled sample replaced data that could not be downloaded
    fingerprints: dict[str, str]  # split -> sha256 of its rows, the same in every process
    corrections: dict | None  # the corrections.json content, with --corrections
    uncorrected: dict = field(default_factory=dict)  # --correct-eval: split -> the evaluation split as it was


@dataclass(frozen=True)
class Start:
    """The backbone to fine-tune, and the options resolved for it (an alias brings its own)."""

    config: TrainConfig  # the final options: saved in train_config.json, used by every later stage
    backbone: Backbone
    model: object
    tokenizer: object


@dataclass(frozen=True)
class Thresholds:
    """A multi-label model's decision thresholds (``metrics.json["thresholds"]``; config.json has the values)."""

    objective: str  # --threshold-objective
    values: dict[str, float]  # label -> threshold, in label order
    notes: list[str]  # e.g. a label without validation examples kept 0.5

    def in_order(self) -> list[float]:
        """The thresholds in label-id order (``values`` keeps the labels' order)."""
        return list(self.values.values())


@dataclass(frozen=True)
class Tuned:
    """The fine-tuned (and, where it helps, calibrated) model's logits on validation and test."""

    fine_tuned: FineTuned
    logits: dict[str, np.ndarray]  # split -> logits of the saved model (divided by T when it is folded in)
    gold: dict[str, np.ndarray]  # split -> label ids (multi-label: a 0/1 matrix)
    calibration: Calibration
    thresholds: Thresholds | None = None  # multi-label only
    uncorrected_logits: dict = field(default_factory=dict)  # --correct-eval: split -> logits on the split as it was


@dataclass(frozen=True)
class Report:
    """What the main process measured after training."""

    evaluation: dict  # split -> metrics of the fine-tuned model
    baselines: dict  # baseline name -> split -> metrics
    projection: dict  # how the embedding map was made
    search: dict = field(default_factory=dict)  # --search: metrics.json "search" (training.tuning.report)
    seeds: dict = field(default_factory=dict)  # --seeds K: metrics.json "seeds" (training.tuning.seeds)
    before: dict = field(default_factory=dict)  # --correct-eval: split -> metrics on the uncorrected split
