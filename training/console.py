"""What a training run prints: the resolved options before training, the summary table after it."""

from __future__ import annotations

import dataclasses
from pathlib import Path


def print_options(config, user_set: set[str], backbone, hardware, data) -> None:
    """The resolved options (marking the ones the user set), backbone, device and data sizes."""
    print("Resolved options (* = set by you; others are defaults or the backbone alias's recommendation):")
    for name, value in dataclasses.asdict(config).items():
        print(f"  {'*' if name in user_set else ' '} {name:24} {value}")
    print(f"Backbone: {backbone.requested} -> {backbone.resolved}" + (" (fallback)" if backbone.fallback else ""))
    print(f"Hardware: {hardware.device} ({hardware.name}), {hardware.precision}")
    print(f"Data: {data.source}: {data.sizes()}")
    print(f"Task: {'multi-label' if data.multi_label else 'single-label'} ({data.task_reason})")
    if data.multi_label:
        from training.data.labels import label_set_stats

        for name, ds in data.splits.items():
            stats = label_set_stats(ds["label"])
            print(
                f"  {name}: {stats['cardinality']:.2f} labels per text, {stats['two_or_more']:.1%} with two or "
                f"more, {stats['none']} with none"
            )
    # a typo label or a missing class shows here
    print(f"Examples per {'label' if data.multi_label else 'class'} ({' / '.join(data.splits)}):")
    for label, counts in data.class_counts().items():
        print(f"  {label:24} {' / '.join(str(n) for n in counts.values())}")


def print_summary(out: Path, evaluation: dict, baselines: dict, tuned, hardware, calibration) -> None:
    """Accuracy and macro F1 of the baselines and the fine-tuned model on each split; epochs and calibration."""
    splits = list(evaluation)
    rows = {
        "majority class": baselines.get("dummy", {}),
        "logistic regression (frozen)": baselines.get("logistic_regression", {}),
        "fine-tuned": evaluation,
    }
    header = "".join(f"{name + ' acc':>16}{name + ' F1':>16}" for name in splits)
    print(f"\n{'model':30}{header}")
    for name, results in rows.items():
        cells = "".join(
            f"{results[s]['accuracy']:>16.1%}{results[s]['f1_macro']:>16.1%}" if s in results else f"{'-':>16}{'-':>16}"
            for s in splits
        )
        print(f"{name:30}{cells}")
    print(f"\nepochs: {tuned.schedule['reason']}")
    ece = ", ".join(f"{s} {v['ece_before']:.4f} -> {v['ece_after']:.4f}" for s, v in calibration.report.items())
    done = "folded into the model" if calibration.applied else f"not applied: {calibration.reason}"
    print(f"calibration: temperature {calibration.temperature:.3f} ({done}); ECE {ece}")
    print(
        f"trained in {tuned.seconds:.0f} s ({tuned.samples_per_second:.1f} samples/s, {hardware.device}, "
        f"{hardware.precision}); output: {out}"
    )
