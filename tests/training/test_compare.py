"""``python -m training.compare`` on two handwritten output folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from formats.output_folder import LABEL_NOISE_FILE
from training.compare import compare_runs, format_markdown, load_run, main, plot_per_class_f1
from training.errors import ToolkitError

LABELS = ["neg", "pos", "neutral"]
TEST_HASH = "a" * 64
# Five test rows: (text, gold). Baseline and candidate predictions are written per run below.
TEST_ROWS = [("bad | day", "neg"), ("good day", "pos"), ("a day", "neutral"), ("great day", "pos"), ("meh day", "neg")]


def write_run(folder: Path, predictions: list[str], accuracy: float, f1: dict[str, float], test_hash=TEST_HASH) -> Path:
    """A training output folder with only the three files compare reads (numbers given, not computed)."""
    folder.mkdir(parents=True)
    per_class = {label: {"precision": 0.0, "recall": 0.0, "f1": value, "support": 1} for label, value in f1.items()}
    split = {
        "accuracy": accuracy,
        "f1_macro": sum(f1.values()) / len(f1),
        "f1_weighted": 0.0,
        "per_class": per_class,
        "confusion_matrix": [],
    }
    (folder / "metrics.json").write_text(json.dumps({"labels": LABELS, "eval": {"validation": split, "test": split}}))
    (folder / "train_config.json").write_text(
        json.dumps(
            {"config": {}, "data": {"split_sha256": {"train": "t" * 64, "validation": "v" * 64, "test": test_hash}}}
        )
    )
    with (folder / "errors.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["index", "text", "label", "predicted", "loss"])
        # errors.csv is sorted by loss, not by index: write the rows in a scrambled order.
        for i in (3, 0, 4, 1, 2):
            writer.writerow([i, TEST_ROWS[i][0], TEST_ROWS[i][1], predictions[i], 0.1 * i])
    return folder


@pytest.fixture
def runs(tmp_path):
    #                       0 neg      1 pos  2 neutral  3 pos   4 neg
    a = write_run(
        tmp_path / "v1", ["pos", "pos", "neg", "neutral", "neg"], 0.4, {"neg": 0.5, "pos": 0.4, "neutral": 0.0}
    )
    b = write_run(tmp_path / "v2", ["neg", "neg", "pos", "pos", "neg"], 0.6, {"neg": 0.8, "pos": 0.5, "neutral": 0.0})
    return a, b


def test_compare_reports_differences_and_changed_predictions(runs):
    a, b = runs
    comparison = compare_runs(load_run(a), load_run(b))

    # comparison.json is published with B: the runs by their folder names, not this machine's paths
    assert (comparison["baseline"], comparison["candidate"]) == ("v1/", "v2/")
    assert comparison["split"] == "test" and comparison["test_sha256"] == TEST_HASH
    assert comparison["metrics"]["accuracy"] == {"baseline": 0.4, "candidate": 0.6, "delta": pytest.approx(0.2)}
    assert comparison["metrics"]["f1_macro"]["delta"] == pytest.approx((0.3 + 0.1) / 3)
    assert list(comparison["per_class_f1"]) == LABELS
    assert comparison["per_class_f1"]["neg"]["delta"] == pytest.approx(0.3)
    assert comparison["per_class_f1"]["neutral"]["delta"] == 0.0
    # row 0 and 3 now right (fixed), row 1 now wrong (broken), row 2 wrong both ways (other), row 4 same.
    assert comparison["changed"] == {"fixed": 2, "broken": 1, "other": 1}
    assert [(e["index"], e["change"]) for e in comparison["examples"]] == [
        (0, "fixed"),
        (3, "fixed"),
        (1, "broken"),
        (2, "other"),
    ]
    assert comparison["examples"][0] == {
        "index": 0,
        "text": "bad | day",
        "label": "neg",
        "baseline": "pos",
        "candidate": "neg",
        "change": "fixed",
    }


def test_markdown_and_figure(runs):
    comparison = compare_runs(*(load_run(r) for r in runs))
    markdown = format_markdown(comparison)
    assert "| accuracy | 40.00% | 60.00% | +20.00 pp |" in markdown
    assert "| F1 neg | 50.00% | 80.00% | +30.00 pp |" in markdown
    assert "**2 fixed**" in markdown and "**1 broken**" in markdown
    assert "bad \\| day" in markdown  # a pipe in a tweet does not break the table

    fig = plot_per_class_f1(comparison)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    heights = [round(p.get_height(), 3) for p in ax.patches]
    assert heights == [0.5, 0.4, 0.0, 0.8, 0.5, 0.0]


def test_cli_writes_into_candidate_folder_by_default_and_out(runs, tmp_path, capsys):
    a, b = runs
    assert main([str(a), str(b)]) == 0
    written = json.loads((b / "comparison.json").read_text())
    assert written["changed"] == {"fixed": 2, "broken": 1, "other": 1}
    assert (b / "comparison.md").read_text() in capsys.readouterr().out
    assert (b / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main([str(a), str(b), "--out", str(tmp_path / "report")]) == 0
    assert {p.name for p in (tmp_path / "report").iterdir()} == {"comparison.json", "comparison.md", "comparison.png"}


def test_output_dir_is_the_option_and_out_its_earlier_spelling(runs, tmp_path):
    a, b = runs
    assert main([str(a), str(b), "--output-dir", str(tmp_path / "new")]) == 0
    assert main([str(a), str(b), "--out", str(tmp_path / "old")]) == 0
    for name in ("comparison.json", "comparison.md"):
        assert (tmp_path / "new" / name).read_bytes() == (tmp_path / "old" / name).read_bytes()


def test_refuses_runs_evaluated_on_different_test_data(runs, tmp_path, capsys):
    a, _ = runs
    other = write_run(
        tmp_path / "other", ["neg"] * 5, 0.4, {"neg": 0.5, "pos": 0.0, "neutral": 0.0}, test_hash="b" * 64
    )
    with pytest.raises(ToolkitError, match="evaluated on different test data"):
        compare_runs(load_run(a), load_run(other))
    assert main([str(a), str(other)]) == 2
    err = capsys.readouterr().err
    assert "different test data" in err and "Traceback" not in err
    assert not (other / "comparison.json").exists()


@pytest.mark.parametrize(
    "remove, message",
    [
        ("metrics.json", "metrics.json: file missing"),
        ("train_config.json", "train_config.json: file missing"),
        ("errors.csv", "errors.csv: file missing"),
    ],
)
def test_missing_files_give_clear_errors(runs, remove, message):
    _a, b = runs
    (b / remove).unlink()
    with pytest.raises(ToolkitError, match=message):
        load_run(b)


def test_missing_folder_and_missing_hash(runs, tmp_path):
    a, _ = runs
    with pytest.raises(ToolkitError, match="no such output folder"):
        load_run(tmp_path / "nope")
    (a / "train_config.json").write_text(json.dumps({"config": {}, "data": {}}))
    with pytest.raises(ToolkitError, match=r"data.split_sha256.test' missing"):
        load_run(a)


def test_figures_of_another_shape_are_one_line(runs):
    """compare reads metrics.json through formats.reports: a figure that is no number is named, never a traceback."""
    a, _ = runs
    metrics = json.loads((a / "metrics.json").read_text())
    metrics["eval"]["test"]["f1_macro"] = "0.45"
    (a / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ToolkitError, match=r"metrics.json: field 'eval.test.f1_macro' missing or not a number"):
        load_run(a)
    (a / "metrics.json").write_text(json.dumps({**metrics, "labels": "neg,pos"}))
    with pytest.raises(ToolkitError, match=r"field 'labels' or 'eval.test' missing"):
        load_run(a)


def test_a_run_of_several_seeds_shows_its_spread(runs):
    a, b = runs
    metrics = json.loads((b / "metrics.json").read_text())
    spread = {"accuracy": {"mean": 0.55, "std": 0.05}, "f1_macro": {"mean": 0.41, "std": 0.02}}
    metrics["seeds"] = {"seeds": [42, 43, 44], "kept_seed": 43, "spread": {"test": spread}}
    (b / "metrics.json").write_text(json.dumps(metrics))
    comparison = compare_runs(load_run(a), load_run(b))
    assert comparison["spread"] == {"baseline": None, "candidate": {"seeds": 3, **spread}}
    assert (
        "- B, over 3 seeds (mean ± std; the table shows the model kept): "
        "accuracy 55.00% ± 5.00 pp, f1_macro 41.00% ± 2.00 pp" in format_markdown(comparison)
    )
    assert "spread" not in compare_runs(load_run(a), load_run(a))  # runs of one seed: comparison.json as before


def test_label_noise_of_audited_runs_is_compared(runs):
    a, b = runs
    assert compare_runs(load_run(a), load_run(b))["label_noise"] == {}
    estimate = {"splits": {"train": {"method": "confident learning", "texts": 100, "suspects": 5, "share": 0.05}}}
    (a / LABEL_NOISE_FILE).write_text(json.dumps(estimate), encoding="utf-8")
    comparison = compare_runs(load_run(a), load_run(b))
    assert comparison["label_noise"] == {"train": {"baseline": 0.05, "candidate": None, "delta": None}}
    assert "| labels that look wrong (train) | 5.00% | – | – |" in format_markdown(comparison)
