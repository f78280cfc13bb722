"""What ``--search`` varies: the options of the recipe, their ranges by backbone size, and ``--search-space FILE``.

A space maps an option of ``TrainConfig`` to a :class:`Range` (a number drawn between two bounds), a tuple of
choices, or one fixed value. This module reads and checks the file at parse time (``training.option_checks``) and
imports no Optuna: :func:`suggest` only calls the trial it is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from formats.command_line import first_line
from training.errors import ToolkitError

SEARCHED = ("learning_rate", "epochs", "batch_size", "warmup_ratio", "weight_decay", "class_weights")
INTEGERS = ("epochs", "batch_size")
CLASS_WEIGHT_MODES = ("auto", "balanced", "none")  # as TrainConfig.class_weights takes them
# Below this many parameters a backbone is "small" (MiniLM-L6: 23M; DistilBERT: 67M, BERT-base: 110M): small
# models want a higher learning rate and more epochs to reach their accuracy (docs/benchmarks.md, learning rates).
SMALL_BACKBONE_PARAMETERS = 40_000_000


@dataclass(frozen=True)
class Range:
    """A number drawn between ``low`` and ``high`` (both included), on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False


def default_space(parameters: int, planned_epochs: float = 0) -> dict[str, Any]:
    """The search space for a backbone of ``parameters`` parameters.

    Args:
        parameters: the backbone's parameter count (``model.num_parameters()``).
        planned_epochs: the epochs the default recipe plans for this data (``training.train.planned_epochs``):
            small data needs many epochs to take enough steps, and the epochs searched reach that far, so that
            the default recipe lies inside the space.
    """
    small = parameters < SMALL_BACKBONE_PARAMETERS
    return {
        "learning_rate": Range(2e-5, 5e-4, log=True) if small else Range(1e-5, 1e-4, log=True),
        "epochs": Range(2, max(6 if small else 5, int(planned_epochs))),
        # Not 16: on a CPU a text costs over twice as much in batches of 16 as in batches of 64, and a search must
        # stay within a few default trainings' time (docs/search.md, the benchmark).
        "batch_size": (32, 64),
        "warmup_ratio": Range(0.0, 0.2),
        "weight_decay": Range(0.0, 0.1),
        "class_weights": ("balanced", "none"),
    }


def resolve_space(parameters: int, path: str | None, pinned: set[str], planned_epochs: float = 0) -> dict[str, Any]:
    """The space of a search: the default for the backbone's size, overridden by the file, less what the user set.

    Args:
        parameters: the backbone's parameter count.
        path: ``--search-space`` (None: the default space).
        pinned: the options the user set: they keep their value in every trial.
        planned_epochs: the epochs the default recipe plans for the data (see :func:`default_space`).
    """
    space = {**default_space(parameters, planned_epochs), **(read_space_file(path) if path else {})}
    return {name: spec for name, spec in space.items() if name not in pinned}


def read_space_file(path: str) -> dict[str, Any]:
    """Read and check a ``--search-space`` YAML file.

    Raises:
        ToolkitError: one line naming the file, the option and what was expected.
    """
    import yaml

    file = Path(path)
    where = f"config error: --search-space {path}"
    if not file.is_file():
        raise ToolkitError(f"{where}: file not found")
    try:
        values = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ToolkitError(f"{where}: not valid YAML: {first_line(err)}") from None
    if not isinstance(values, dict) or not values:
        raise ToolkitError(f"{where}: expected a mapping of options ({', '.join(SEARCHED)}) to ranges")
    space = {}
    for name, value in values.items():
        if name not in SEARCHED:
            raise ToolkitError(f"{where}: unknown option {name!r} — expected some of {', '.join(SEARCHED)}")
        try:
            space[name] = read_spec(name, value)
        except (TypeError, ValueError) as err:
            raise ToolkitError(f"{where}: {name}: {err}") from None
    return space


def read_spec(name: str, value: Any) -> Any:
    """One option's entry: ``{low, high[, log]}``, a list of choices, or one value (fixed in every trial)."""
    if isinstance(value, dict):
        extra = set(value) - {"low", "high", "log"}
        if extra or not {"low", "high"} <= set(value) or not isinstance(value.get("log", False), bool):
            raise ValueError(f"expected {{low: …, high: …, log: true|false}}, got {value}")
        spec = Range(option_value(name, value["low"]), option_value(name, value["high"]), value.get("log", False))
        if spec.low > spec.high or (spec.log and spec.low <= 0):
            raise ValueError(f"expected low <= high (and low > 0 with log: true), got {value}")
        return spec
    if isinstance(value, list):
        if not value:
            raise ValueError("expected at least one choice, got an empty list")
        return tuple(option_value(name, choice) for choice in value)
    return option_value(name, value)


def option_value(name: str, value: Any) -> Any:
    """``value`` as option ``name`` takes it (YAML reads ``1e-5`` as text), checked as the option is."""
    if name == "class_weights":
        if value not in CLASS_WEIGHT_MODES:
            raise ValueError(f"expected one of {', '.join(CLASS_WEIGHT_MODES)}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(value)  # ValueError for text that is no number
    if name in INTEGERS and number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    lowest, upper = (0.0, 1.0) if name == "warmup_ratio" else (0.0, None)
    positive = name not in ("warmup_ratio", "weight_decay")
    if number < lowest or (positive and number == 0) or (upper is not None and number >= upper):
        raise ValueError(f"expected {'> 0' if positive else f'in [0, {upper:g})' if upper else '>= 0'}, got {value!r}")
    return int(number) if name in INTEGERS else number


def suggest(trial, space: dict[str, Any]) -> dict[str, Any]:
    """The options of one trial: each drawn from its range or choices by ``trial`` (an ``optuna.Trial``)."""
    options = {}
    for name, spec in space.items():
        if isinstance(spec, Range) and name in INTEGERS:
            options[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
        elif isinstance(spec, Range):
            options[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
        elif isinstance(spec, tuple):
            options[name] = trial.suggest_categorical(name, list(spec))
        else:
            options[name] = spec
    return options


def recipe_trial(space: dict[str, Any], recipe: dict[str, Any]) -> dict[str, Any]:
    """The first trial of a search: the recipe's own values (``recipe``: option -> value, its epochs the planned
    ones) of every searched option whose range or choices hold them, so that the search starts from what it is
    meant to improve; an option whose value lies outside the space is left to the sampler."""

    def holds(spec, value) -> bool:
        if isinstance(spec, Range):
            return spec.low <= value <= spec.high
        return isinstance(spec, tuple) and value in spec

    return {name: recipe[name] for name, spec in space.items() if name in recipe and holds(spec, recipe[name])}


def describe_space(space: dict[str, Any]) -> dict[str, Any]:
    """The space as JSON (metrics.json ``search.space``): ranges as ``{low, high, log}``, choices as lists."""
    return {
        name: asdict(spec) if isinstance(spec, Range) else list(spec) if isinstance(spec, tuple) else spec
        for name, spec in space.items()
    }
