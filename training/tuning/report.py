"""What a ``--search`` leaves in the run: the trials (``trials.csv``), a figure (``search.png``: the objective by
trial, and how much each option mattered) and metrics.json's ``search`` entry, read from the Optuna study."""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.figure import Figure

from formats.output_folder import SEARCH_FIGURE, TRIALS_FILE, save_figure
from training.tuning.space import SEARCHED, describe_space


def trial_rows(study) -> list[dict]:
    """One row per trial: its state, objective (a pruned trial: its best epoch before it was stopped), seconds,
    epochs evaluated, and its options."""
    rows = []
    for trial in study.trials:
        state = trial.state.name.lower()
        reported = list(trial.intermediate_values.values())
        objective = trial.value if state == "complete" else max(reported, default=None)
        rows.append(
            {
                "trial": trial.number,
                "state": state,
                "pruned": state == "pruned",
                "objective": None if objective is None else round(objective, 6),
                "seconds": trial.user_attrs.get("seconds"),
                "epochs_evaluated": len(reported),
                **{name: trial.params.get(name) for name in SEARCHED},
            }
        )
    return rows


def importances(study) -> dict[str, float]:
    """Optuna's importance of each searched option (its default evaluator, PED-ANOVA); empty before two complete
    trials differ."""
    from optuna.importance import get_param_importances

    try:
        return {name: round(float(value), 4) for name, value in get_param_importances(study).items()}
    except (RuntimeError, ValueError):  # too few complete trials, or options that never varied
        return {}


def draw(rows: list[dict], importance: dict[str, float], objective: str) -> Figure:
    """The objective of each trial (pruned ones marked, the best so far as a line), and each option's importance."""
    figure = Figure(figsize=(11, 4))
    trials_axis, importance_axis = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for state, marker in (("complete", "o"), ("pruned", "x")):
        points = [
            (row["trial"], row["objective"]) for row in rows if row["state"] == state and row["objective"] is not None
        ]
        if points:
            trials_axis.scatter(*zip(*points, strict=True), marker=marker, label=state)
    best, line = None, []
    for row in rows:
        if row["state"] == "complete":
            best = row["objective"] if best is None else max(best, row["objective"])
        line.append((row["trial"], best))
    trials_axis.step(*zip(*line, strict=True), where="post", color="grey", label="best so far")
    trials_axis.set(xlabel="trial", ylabel=f"validation {objective}", title="Objective by trial")
    trials_axis.legend()
    if importance:
        names = list(importance)[::-1]
        importance_axis.barh(names, [importance[name] for name in names])
        importance_axis.set(xlabel="importance (Optuna, PED-ANOVA)", title="Sensitivity to each option")
    else:
        importance_axis.text(0.5, 0.5, "needs two complete trials\nthat differ", ha="center", va="center")
        importance_axis.set_axis_off()
    return figure


def write_search_files(out: Path, search, options: dict, objective: str) -> dict:
    """Write ``trials.csv`` and ``search.png`` into ``out``; return metrics.json's ``search`` entry.

    Args:
        out: the run's folder (staging).
        search: the finished ``training.tuning.search.Search``.
        options: the best trial's options (the final model's).
        objective: the metric maximised (validation, e.g. ``f1_macro``).
    """
    study, rows = search.study, trial_rows(search.study)
    with (out / TRIALS_FILE).open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    importance = importances(study)
    save_figure(draw(rows, importance, objective), out / SEARCH_FIGURE)
    states = [row["state"] for row in rows]
    return {
        "objective": f"validation {objective}",
        "trials": len(rows),
        "complete": states.count("complete"),
        "pruned": states.count("pruned"),
        "unfinished": states.count("fail") + states.count("running"),  # e.g. its process was killed
        "seconds": round(sum(row["seconds"] or 0 for row in rows), 1),
        "best": {"trial": study.best_trial.number, "value": study.best_value, "options": options},
        "space": describe_space(search.space),
        "pinned": search.pinned,
        "importance": importance,
        "study": study.study_name,
        "storage": search.storage,
    }
