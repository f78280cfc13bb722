"""Compare two training output folders evaluated on the same test data.

    python -m training.compare runs/v1 runs/v2                      # writes comparison.* into runs/v2
    python -m training.compare runs/emotion runs/corrected --output-dir reports/corrections

Reads only ``metrics.json``, ``train_config.json`` (``data.split_sha256``) and ``errors.csv`` of each
folder; prints a markdown report and writes ``comparison.json``, ``comparison.md`` and
``comparison.png`` into the candidate folder (B) unless ``--output-dir`` says otherwise. Runs evaluated on
different test data (a different ``split_sha256``) are refused: their metrics are not comparable.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from matplotlib.figure import Figure

from formats.command_line import help_texts
from formats.output_folder import (
    COMPARISON_FILES,
    ERRORS_FILE,
    LABEL_NOISE_FILE,
    METRICS_FILE,
    TRAIN_CONFIG_FILE,
    save_figure,
    write_json,
)
from formats.reports import ClassScores, read_metrics, read_train_config
from formats.writing import write_refusal
from training.errors import ToolkitError, one_line_errors
from training.paths import portable_name

COMMAND = "python -m training.compare"
EXAMPLES_PER_KIND = 4  # changed predictions shown per kind (fixed, broken, other)
COMPARED = ("accuracy", "f1_macro")  # the headline figures compared (beside each class's F1)


# ----------------------------------------------------------------------------- reading a run


def load_run(folder: str | Path) -> dict:
    """Read what a comparison needs from one output folder.

    Returns:
        ``{"path", "labels", "split", "sha256", "metrics", "rows"}`` — ``split`` is ``test`` (or
        ``validation`` for data without a test split, as errors.csv is), ``metrics`` that split's figures
        (``formats.reports.SplitScores``), ``rows`` maps errors.csv ``index`` to ``{text, label, predicted}``.

    Raises:
        ToolkitError: a missing folder or file, or a file without the expected fields.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ToolkitError(
            f"compare error: {folder}: no such output folder — expected a folder written by python -m training"
        )
    raw_metrics = _read_json(folder / METRICS_FILE)
    metrics = read_metrics(raw_metrics)
    train_config = read_train_config(_read_json(folder / TRAIN_CONFIG_FILE))
    split = metrics.headline_split
    if split not in metrics.eval or metrics.labels is None:
        raise ToolkitError(f"compare error: {folder / METRICS_FILE}: field 'labels' or 'eval.test' missing")
    scores = metrics.eval[split]
    missing = [key for key in COMPARED if scores.figure(key) is None]
    if missing:
        raise ToolkitError(
            f"compare error: {folder / METRICS_FILE}: field 'eval.{split}.{missing[0]}' missing or not a number"
        )
    sha256 = train_config.data.split_sha256.get(split)
    if not sha256:
        raise ToolkitError(
            f"compare error: {folder / TRAIN_CONFIG_FILE}: field 'data.split_sha256.{split}' missing — "
            "cannot check which test data the run was evaluated on"
        )
    return {
        "path": str(folder),
        "labels": list(metrics.labels),
        "split": split,
        "sha256": sha256,
        "metrics": scores,
        "rows": _read_errors(folder / ERRORS_FILE),
        "spread": seed_spread(raw_metrics, split),
        "label_noise": _label_noise(folder / LABEL_NOISE_FILE),
    }


def seed_spread(metrics: dict, split: str) -> dict | None:
    """A ``--seeds K`` run's mean and std of the compared figures on ``split`` (with K), else None."""
    seeds = metrics.get("seeds") if isinstance(metrics.get("seeds"), dict) else {}
    figures = (seeds.get("spread") or {}).get(split) or {}
    spread = {key: figures[key] for key in COMPARED if isinstance(figures.get(key), dict)}
    return {"seeds": len(seeds.get("seeds", [])), **spread} if spread else None


def _label_noise(path: Path) -> dict[str, float]:
    """training.audit's estimate (``label_noise.json``): split -> the share of labels that look wrong; {} if none."""
    splits = _read_json(path).get("splits", {}) if path.is_file() else {}
    return {name: split["share"] for name, split in splits.items() if isinstance(split, dict) and "share" in split}


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ToolkitError(
            f"compare error: {path}: file missing — expected in every output folder of python -m training"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ToolkitError(f"compare error: {path} line {e.lineno}: not valid JSON ({e.msg})") from None


def _read_errors(path: Path) -> dict[int, dict]:
    if not path.is_file():
        raise ToolkitError(
            f"compare error: {path}: file missing — expected in every output folder of python -m training"
        )
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"index", "text", "label", "predicted"} - set(reader.fieldnames or [])
        if missing:
            raise ToolkitError(
                f"compare error: {path} line 1: header lacks column(s) {', '.join(sorted(missing))} "
                "— expected index,text,label,predicted,loss"
            )
        rows = {}
        for row in reader:
            try:
                index = int(row["index"])
            except ValueError:
                raise ToolkitError(
                    f"compare error: {path} line {reader.line_num}: index {row['index']!r} is not an integer"
                ) from None
            rows[index] = {"text": row["text"], "label": row["label"], "predicted": row["predicted"]}
    return rows


# ----------------------------------------------------------------------------- comparing (pure)


def _triple(baseline, candidate) -> dict:
    delta = None if baseline is None or candidate is None else candidate - baseline
    return {"baseline": baseline, "candidate": candidate, "delta": delta}


def compare_runs(baseline: dict, candidate: dict) -> dict:
    """Build the ``comparison.json`` content from two runs read by :func:`load_run`.

    Raises:
        ToolkitError: the runs were evaluated on different data (split or hash differ).
    """
    if (baseline["split"], baseline["sha256"]) != (candidate["split"], candidate["sha256"]):
        raise ToolkitError(
            f"compare error: {baseline['path']} and {candidate['path']} were evaluated on different test data "
            f"({baseline['split']} sha256 {baseline['sha256'][:12]}… vs {candidate['split']} sha256 "
            f"{candidate['sha256'][:12]}…) — compare runs trained with the same --data test split"
        )
    labels = baseline["labels"] + [lab for lab in candidate["labels"] if lab not in baseline["labels"]]
    per_class = {}
    for label in labels:
        f1 = [(run["metrics"].per_class.get(label) or ClassScores()).f1 for run in (baseline, candidate)]
        per_class[label] = _triple(*f1)

    changed = {"fixed": [], "broken": [], "other": []}
    for index in sorted(baseline["rows"]):
        old, new = baseline["rows"][index], candidate["rows"].get(index)
        if new is None or new["text"] != old["text"]:
            raise ToolkitError(
                f"compare error: {ERRORS_FILE} of {baseline['path']} and {candidate['path']} differ at "
                f"index {index} although the test data hash is equal — was {ERRORS_FILE} edited?"
            )
        if old["predicted"] == new["predicted"]:
            continue
        kind = (
            "fixed" if new["predicted"] == old["label"] else "broken" if old["predicted"] == old["label"] else "other"
        )
        changed[kind].append(
            {
                "index": index,
                "text": old["text"],
                "label": old["label"],
                "baseline": old["predicted"],
                "candidate": new["predicted"],
                "change": kind,
            }
        )

    return {
        "baseline": portable_name(baseline["path"]),  # published with the candidate: names, not local paths
        "candidate": portable_name(candidate["path"]),
        "split": baseline["split"],
        "test_sha256": baseline["sha256"],
        "metrics": {
            key: _triple(baseline["metrics"].figure(key), candidate["metrics"].figure(key)) for key in COMPARED
        },
        "per_class_f1": per_class,
        "changed": {kind: len(items) for kind, items in changed.items()},
        "label_noise": {  # training.audit's estimate of each run, where one was audited
            split: _triple(baseline["label_noise"].get(split), candidate["label_noise"].get(split))
            for split in sorted({*baseline["label_noise"], *candidate["label_noise"]})
        },
        "examples": [item for items in changed.values() for item in items[:EXAMPLES_PER_KIND]],
        **spread_of(baseline, candidate),
    }


def spread_of(baseline: dict, candidate: dict) -> dict:
    """comparison.json's ``spread`` (only when a run was trained with ``--seeds``): each run's mean ± std."""
    if baseline["spread"] is None and candidate["spread"] is None:
        return {}
    return {"spread": {"baseline": baseline["spread"], "candidate": candidate["spread"]}}


def spread_lines(comparison: dict) -> list[str]:
    """The report's lines on the seeds' spread: how far a difference between the two runs is from chance."""
    lines = []
    for run, name in (("baseline", "A"), ("candidate", "B")):
        spread = comparison.get("spread", {}).get(run)
        if spread:
            figures = ", ".join(
                f"{key} {_pct(spread[key]['mean'])} ± {100 * spread[key]['std']:.2f} pp"
                for key in COMPARED
                if key in spread
            )
            lines.append(
                f"- {name}, over {spread['seeds']} seeds (mean ± std; the table shows the model kept): {figures}"
            )
    return ["", *lines] if lines else []


# ----------------------------------------------------------------------------- presenting


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _pp(delta) -> str:
    return "–" if delta is None else f"{100 * delta:+.2f} pp"


def format_markdown(comparison: dict) -> str:
    """The comparison as a markdown report: metrics table, changed predictions, examples."""
    lines = [
        f"## Comparison on the {comparison['split']} split",
        "",
        f"Baseline (A): `{comparison['baseline']}` · candidate (B): `{comparison['candidate']}` · "
        f"{comparison['split']} data sha256 `{comparison['test_sha256'][:12]}…`",
        "",
        "| metric | A | B | B − A |",
        "|---|---:|---:|---:|",
    ]
    rows = [("accuracy", comparison["metrics"]["accuracy"]), ("macro F1", comparison["metrics"]["f1_macro"])]
    rows += [(f"F1 {label}", values) for label, values in comparison["per_class_f1"].items()]
    rows += [(f"labels that look wrong ({split})", v) for split, v in comparison.get("label_noise", {}).items()]
    for name, v in rows:
        lines.append(f"| {name} | {_pct(v['baseline'])} | {_pct(v['candidate'])} | {_pp(v['delta'])} |")
    lines += spread_lines(comparison)
    counts = comparison["changed"]
    lines += [
        "",
        f"Changed {comparison['split']} predictions: **{counts['fixed']} fixed** (now right), "
        f"**{counts['broken']} broken** (now wrong), {counts['other']} other (wrong either way).",
    ]
    if comparison["examples"]:
        lines += ["", "| index | text | gold | A | B | change |", "|---:|---|---|---|---|---|"]
        for ex in comparison["examples"]:
            # Text is data: keep the table intact whatever it holds.
            text = ex["text"].replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| {ex['index']} | {text} | {ex['label']} | {ex['baseline']} | {ex['candidate']} | {ex['change']} |"
            )
    return "\n".join(lines) + "\n"


def plot_per_class_f1(comparison: dict) -> Figure:
    """Grouped bar chart: per-class F1 of baseline and candidate side by side."""
    labels = list(comparison["per_class_f1"])
    fig = Figure(figsize=(max(6.0, 1.1 * len(labels) + 2), 4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.4
    for offset, run, name in ((-width / 2, "baseline", "A"), (width / 2, "candidate", "B")):
        values = [comparison["per_class_f1"][label][run] or 0.0 for label in labels]
        macro = comparison["metrics"]["f1_macro"][run]
        bars = ax.bar(
            [i + offset for i in range(len(labels))],
            values,
            width,
            label=f"{name}: {Path(comparison[run]).name} (macro F1 {macro:.3f})",
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 1.25)  # headroom for the legend above bars of F1 = 1
    ax.set_ylabel("F1")
    ax.set_title(f"Per-class F1 on the {comparison['split']} split")
    ax.legend(loc="upper center", ncols=2, fontsize=8)
    return fig


def write_comparison(comparison: dict, out_dir: Path, overwrite: bool = False) -> list[Path]:
    """Write comparison.json, comparison.md and comparison.png into ``out_dir``; return their paths.

    Raises:
        ToolkitError: one of them exists already, and ``overwrite`` is not set (the write rule of every command).
    """
    paths = [out_dir / name for name in COMPARISON_FILES]
    for path in paths:  # comparison.* belong in a run folder: the folder of B, or --output-dir
        if refusal := write_refusal(path, "--output-dir", overwrite=overwrite, own_folder=True):
            raise ToolkitError(f"compare error: {refusal}")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(paths[0], comparison)
    paths[1].write_text(format_markdown(comparison), encoding="utf-8")
    save_figure(plot_per_class_f1(comparison), paths[2])
    return paths


@one_line_errors
def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Compare A and B; a user error is one line on stderr and exit status 2 (no traceback).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk compare`` when run by ``emotk``).
    """
    parser = argparse.ArgumentParser(prog=prog, **help_texts(__doc__, COMMAND))
    parser.add_argument("baseline", type=Path, help="output folder of the earlier run (A)")
    parser.add_argument("candidate", type=Path, help="output folder of the new run (B)")
    parser.add_argument(
        "--output-dir",
        "--out",  # the earlier spelling
        type=Path,
        default=None,
        help="The folder to write comparison.* into (default: the candidate folder B).",
    )
    parser.add_argument("--overwrite", action="store_true", help="Replace comparison.* if they exist.")
    args = parser.parse_args(argv)
    comparison = compare_runs(load_run(args.baseline), load_run(args.candidate))
    paths = write_comparison(comparison, args.output_dir or args.candidate, args.overwrite)
    print(format_markdown(comparison))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
