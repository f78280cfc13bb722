"""The checks of a training run's options that need no data: each user error named by its option.

``training.config.parse_config`` runs them right after parsing, before anything slow happens.
"""

from __future__ import annotations

from pathlib import Path

from training.backbones import ALIASES
from training.errors import ToolkitError
from training.paths import can_only_be_local


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
    ):  # the last two may be None: no limit
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ToolkitError(f"config error: --{name.replace('_', '-')} must be > 0, got {value}")
    if config.min_votes < 1 or config.max_new_per_client < 0:
        raise ToolkitError(
            f"config error: --min-votes must be >= 1 and --max-new-per-client >= 0, "
            f"got {config.min_votes} and {config.max_new_per_client}"
        )
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
