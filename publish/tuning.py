"""The model card's "How it was tuned": what ``--search`` tried and found, and how much ``--seeds`` moved the
figures, read from metrics.json's ``search`` and ``seeds`` entries (written by ``training.tuning``).

The entries are the toolkit's own numbers and option names; anything else in them is left out rather than shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

from formats.output_folder import SEARCH_FIGURE, TRIALS_FILE, headline_split


@dataclass(frozen=True)
class Tuning:
    """What the card says of a run's tuning (None where the run had no search, or one seed)."""

    search: dict[str, Any] | None  # metrics.json "search": trials, complete, pruned, best, importance, pinned
    seeds: dict[str, Any] | None  # metrics.json "seeds": seeds, kept_seed, kept_by
    searched: dict[str, str]  # option -> what the search drew it from, in words ("2e-05 to 0.0005, log scale")
    spread: list[tuple[str, float, float]]  # the headline split's (metric, mean, std) over the seeds
    split: str  # that split
    has_trials: bool  # trials.csv is in the folder
    has_figure: bool  # search.png is in the folder


def figures(value: Any) -> list[tuple[str, float, float]]:
    """``{metric: {mean, std}}`` as rows, numbers only."""
    rows = []
    for metric, entry in (value or {}).items():
        if isinstance(entry, dict) and all(isinstance(entry.get(k), Real) for k in ("mean", "std")):
            rows.append((str(metric), float(entry["mean"]), float(entry["std"])))
    return rows


def in_words(spec: Any) -> str:
    """A space's entry as the card says it: a range, the choices, or the one value."""
    if isinstance(spec, dict) and {"low", "high"} <= set(spec):
        return f"{spec['low']:g} to {spec['high']:g}{', log scale' if spec.get('log') else ''}"
    if isinstance(spec, list):
        return "one of " + ", ".join(str(choice) for choice in spec)
    return f"fixed at {spec}"


def read_tuning(folder: Path, metrics: dict) -> Tuning | None:
    """The tuning facts of the output folder ``folder`` whose metrics.json holds ``metrics``; None without any."""
    search, seeds = metrics.get("search"), metrics.get("seeds")
    search = search if isinstance(search, dict) and isinstance(search.get("best"), dict) else None
    seeds = seeds if isinstance(seeds, dict) and isinstance(seeds.get("spread"), dict) else None
    if search is None and seeds is None:
        return None
    split = headline_split(seeds["spread"]) if seeds else headline_split(metrics.get("eval") or {})
    return Tuning(
        search=search,
        seeds=seeds,
        searched={str(name): in_words(spec) for name, spec in (search or {}).get("space", {}).items()},
        spread=figures(seeds["spread"].get(split)) if seeds else [],
        split=split,
        has_trials=(Path(folder) / TRIALS_FILE).is_file(),
        has_figure=(Path(folder) / SEARCH_FIGURE).is_file(),
    )
