"""``--seeds K``: the same recipe trained with seeds ``--seed`` … ``--seed + K - 1``, to show how much its figures
owe to chance. metrics.json reports every headline figure's mean and standard deviation over the seeds; the model
kept (and evaluated, calibrated, exported, published as usual) is the one with the median validation macro F1,
so that the figures of the model people use are typical of the recipe rather than its luckiest draw.

With ``--search``, the search runs first (with ``--seed``) and the K seeds train its best options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from numbers import Real

import numpy as np

from training.option_checks import NO_REPORTING, TENSORBOARD, report_targets
from training.stages import Start, Tuned
from training.train import load_model_and_tokenizer

KEPT_BY = "f1_macro"  # the validation figure whose median decides the model kept


def seed_list(seed: int, count: int) -> list[int]:
    """The seeds of ``--seed seed --seeds count``."""
    return list(range(seed, seed + count))


def median_index(values: list[float]) -> int:
    """The position of the median value (with an even count, the lower of the two middle ones; ties: the first)."""
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    return order[(len(values) - 1) // 2]


def headline(evaluation: dict) -> dict[str, dict[str, float]]:
    """Each split's headline figures: the numbers at its top level (not per class, not the confusion matrix)."""
    return {
        split: {key: value for key, value in scores.items() if isinstance(value, Real) and not isinstance(value, bool)}
        for split, scores in evaluation.items()
    }


def spread(figures: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean and sample standard deviation (n - 1) of every headline figure over the seeds, split by split."""
    return {
        split: {
            key: {
                "mean": float(np.mean([run[split][key] for run in figures])),
                "std": float(np.std([run[split][key] for run in figures], ddof=1)),
            }
            for key in scores
        }
        for split, scores in figures[0].items()
    }


def seeded_start(start: Start, labels: list[str], multi_label: bool, seed: int) -> Start:
    """The start of one more seed: a new head drawn with ``seed``; TensorBoard traces are the first seed's only
    (a second writer into the same traces folder would draw over its curves)."""
    targets = [name for name in report_targets(start.config.report_to) if name != TENSORBOARD]
    config = dataclasses.replace(start.config, seed=seed, report_to=",".join(targets) or NO_REPORTING)
    model, _ = load_model_and_tokenizer(start.backbone, labels, seed, multi_label)
    return dataclasses.replace(start, config=config, model=model)


def train_seeds(
    start: Start, data, train: Callable[[Start], Tuned], evaluate: Callable[[object, Tuned], dict]
) -> tuple[Tuned, dict]:
    """Train once per seed of ``--seeds`` and keep the median model.

    Args:
        start: the backbone and the options (its model has the head of ``--seed``).
        data: the run's ``LoadedData`` (labels, single- or multi-label).
        train: fine-tunes and calibrates one start (the pipeline's stage).
        evaluate: the metrics by split of one trained model on ``data``.

    Returns:
        The kept model, and metrics.json's ``seeds`` entry (empty with one seed).
    """
    config = start.config
    if config.seeds == 1:
        return train(start), {}
    seeds, runs = seed_list(config.seed, config.seeds), []
    for seed in seeds:
        seeded = start if seed == config.seed else seeded_start(start, data.labels, data.multi_label, seed)
        tuned = train(seeded)
        runs.append((tuned, headline(evaluate(data, tuned))))
    kept = median_index([figures["validation"][KEPT_BY] for _, figures in runs])
    figures = [figures for _, figures in runs]
    return runs[kept][0], {
        "seeds": seeds,
        "kept_seed": seeds[kept],
        "kept_by": f"median validation {KEPT_BY} (with an even count, the lower of the two middle ones)",
        "seconds": round(sum(tuned.fine_tuned.seconds for tuned, _ in runs), 1),
        "runs": [{"seed": seed, "eval": run} for seed, run in zip(seeds, figures, strict=True)],
        "spread": spread(figures),
    }
