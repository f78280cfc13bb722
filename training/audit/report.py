"""The audit's estimate as a fact of the run: ``label_noise.json`` and ``label_noise.png`` in its output folder.

``label_noise.json`` holds one entry per audited split (``splits``: the estimate of ``training.audit.issues``) and
is added to, split by split: auditing ``test`` after ``train`` keeps the train estimate; an estimate of a split
already there is replaced only with ``--overwrite``. The figure shows every audited split's share of labels that
look wrong, per class. The model card states the training split's share in one sentence
(``publish.label_noise``), and ``training.compare`` shows it.
"""

from __future__ import annotations

from pathlib import Path

from formats.output_folder import LABEL_NOISE_FIGURE, LABEL_NOISE_FILE, save_figure, write_json
from training.errors import ToolkitError
from training.runtime import read_json_object


def merged_estimate(run_dir: Path, estimates: dict, overwrite: bool) -> dict:
    """``label_noise.json``'s content with ``estimates`` (split -> estimate) added to what it held.

    Raises:
        ToolkitError: a split already estimated, without ``--overwrite``.
    """
    path = run_dir / LABEL_NOISE_FILE
    held = read_json_object(path, f"audit error: {path}") if path.is_file() else {}
    splits = dict(held.get("splits", {}))
    again = sorted(set(splits) & set(estimates))
    if again and not overwrite:
        raise ToolkitError(
            f"audit error: {path} already holds an estimate of {', '.join(again)} — pass --overwrite to replace it"
        )
    return {"splits": {**splits, **estimates}}


def write_estimate(run_dir: Path, content: dict) -> None:
    """Write ``label_noise.json`` and its figure into the run folder."""
    write_json(run_dir / LABEL_NOISE_FILE, content)
    figure = noise_figure(content)
    save_figure(figure, run_dir / LABEL_NOISE_FIGURE)
    import matplotlib.pyplot as plt

    plt.close(figure)


def noise_figure(content: dict):
    """Bars: per class, the share of its labels that look wrong, one bar per audited split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    splits = content["splits"]
    classes = list(next(iter(splits.values()))["per_class"])
    figure, axis = plt.subplots(figsize=(max(6, 0.6 * len(classes) * len(splits)), 4))
    width = 0.8 / len(splits)
    for place, (split, estimate) in enumerate(splits.items()):
        shares = [100 * (estimate["per_class"][name]["share"] or 0) for name in classes]
        axis.bar(
            np.arange(len(classes)) + place * width,
            shares,
            width,
            label=f"{split}: {100 * estimate['share']:.1f}% of {estimate['texts']:,}",
        )
    axis.set_xticks(np.arange(len(classes)) + width * (len(splits) - 1) / 2, classes, rotation=45, ha="right")
    axis.set_ylabel("labels that look wrong (%)")
    axis.set_title("Labels that look wrong, per class (confident learning)")
    axis.legend()
    return figure
