"""The checks of a training run's options that need no data: each user error named by its option.

``training.config.parse_config`` runs them right after parsing, before anything slow happens.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from training.backbones import ALIASES
from training.errors import ToolkitError
from training.paths import can_only_be_local
from training.tuning.space import read_space_file

TENSORBOARD = "tensorboard"  # the default: its traces go into the output folder (training.traces)
NO_REPORTING = "none"
# Trainer's integrations (its report_to names) whose package imports under the same name as pip installs it.
INTEGRATIONS = (
    TENSORBOARD,
    "trackio",
    "wandb",
    "mlflow",
    "comet_ml",
    "neptune",
    "clearml",
    "dvclive",
    "swanlab",
    "codecarbon",
)


def report_targets(report_to: str) -> list[str]:
    """The integrations a ``--report-to`` value names, in its order (``none``: an empty list)."""
    names = [name.strip() for name in report_to.split(",") if name.strip()]
    return [] if names == [NO_REPORTING] else names


def check_report_to(report_to: str) -> None:
    """Refuse an unknown integration, or one whose package is not installed, before anything slow happens.

    Args:
        report_to: the ``--report-to`` value, a comma list of Trainer integrations or ``none``.

    Raises:
        ToolkitError: one line naming the integration and the package to install.
    """
    expected = f"expected a comma list of {', '.join(INTEGRATIONS)}, or {NO_REPORTING}"
    names = report_targets(report_to)
    if not names and report_to.strip() != NO_REPORTING:
        raise ToolkitError(f"config error: --report-to {report_to!r}: empty — {expected}")
    for name in names:
        if name not in INTEGRATIONS:
            raise ToolkitError(f"config error: --report-to {report_to}: unknown integration {name!r} — {expected}")
        if importlib.util.find_spec(name) is None:
            raise ToolkitError(
                f"config error: --report-to {name}: the package {name} is not installed — "
                f"pip install {name} (or --report-to {NO_REPORTING})"
            )


def check_search(config) -> None:
    """``--search-space`` and ``--search-storage`` only with ``--search``; the space file read and checked now.

    Raises:
        ToolkitError: one line naming the option (and the file's entry) and what it expects.
    """
    for name in ("search_space", "search_storage"):
        if getattr(config, name) and not config.search:
            raise ToolkitError(f"config error: --{name.replace('_', '-')} needs --search N (the number of trials)")
    if config.search_space:
        read_space_file(config.search_space)


def check_config(config) -> None:
    """Reject option values that cannot work, naming the option.

    Args:
        config: the parsed ``training.config.TrainConfig`` (read by attribute: this module sits beneath it).

    Raises:
        ToolkitError: one line naming the option and what it expects.
    """
    for name in (
        "epochs",
        "learning_rate",
        "batch_size",
        "eval_batch_size",
        "max_length",
        "logging_steps",
        "max_epochs",
        "min_steps",
        "early_stopping_patience",
        "max_train_samples",
        "max_eval_samples",
        "search",
        "seeds",
    ):  # max_train_samples, max_eval_samples and search may be None: no limit, no search
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ToolkitError(f"config error: --{name.replace('_', '-')} must be > 0, got {value}")
    if config.min_votes < 1 or config.max_new_per_client < 0:
        raise ToolkitError(
            f"config error: --min-votes must be >= 1 and --max-new-per-client >= 0, "
            f"got {config.min_votes} and {config.max_new_per_client}"
        )
    check_report_to(config.report_to)
    check_search(config)
    if not 0 <= config.warmup_ratio < 1:
        raise ToolkitError(f"config error: --warmup-ratio must be in [0, 1), got {config.warmup_ratio}")
    if config.push_to_hub and not config.hub_model_id:
        raise ToolkitError("config error: --push-to-hub needs --hub-model-id / --repo-id (e.g. me/distilbert-emotion)")
    if config.multi_label and config.single_label:
        raise ToolkitError("config error: --multi-label and --single-label contradict each other: pass one")
    if config.min_class_examples < 0:
        raise ToolkitError(f"config error: --min-class-examples must be >= 0, got {config.min_class_examples}")
    if config.model not in ALIASES and can_only_be_local(config.model) and not Path(config.model).expanduser().exists():
        raise ToolkitError(
            f"config error: --model {config.model}: no such folder — expected a model folder on this disk, "
            "a Hub model id or 'offline'"
        )
