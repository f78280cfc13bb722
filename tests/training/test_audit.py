"""python -m training.audit: planted flips found, multi-label, the sheet through --corrections, one-line errors."""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from formats.output_folder import (
    CONFIG_FILE,
    CORRECTIONS_FILE,
    DYNAMICS_FILE,
    LABEL_NOISE_FIGURE,
    LABEL_NOISE_FILE,
    TRAIN_CONFIG_FILE,
    WEIGHTS_FILE,
)
from tests.conftest import train_tiny_model, write_split, write_splits, write_tiny_model
from training.audit.__main__ import main
from training.audit.issues import suspects
from training.audit.probabilities import kfold_logistic
from training.audit.run import COLUMNS
from training.corrections.apply import apply_corrections
from training.corrections.audit import audit_decisions, correct_evaluation, key_hash
from training.corrections.records import load_flag_records
from training.errors import ToolkitError
from training.quality.dynamics import text_dynamics

FLIPS = 9


def planted_flips(folder: Path, labels: list[str]) -> tuple[list, list, list[int]]:
    """A data folder whose training split has FLIPS labels flipped: the noisy rows, the clean ones, the flipped row
    numbers."""
    clean = write_splits(folder, labels, per_class=(30, 4, 4))["train"]
    rng = random.Random(0)
    flipped = sorted(rng.sample(range(len(clean)), FLIPS))
    noisy = list(clean)
    for i in flipped:
        noisy[i] = (clean[i][0], rng.choice([label for label in labels if label != clean[i][1]]))
    write_split(folder / "train.txt", noisy)
    return noisy, clean, flipped


@pytest.fixture
def flipped_run(tmp_path, trained_tiny_dir, emotion_labels):
    """A run folder (the tiny fitted model) whose train_config.json names data with FLIPS labels flipped; the rows,
    and the flipped row numbers."""
    noisy, clean, flipped = planted_flips(tmp_path / "data", emotion_labels)
    run = tmp_path / "run"
    run.mkdir()
    for path in trained_tiny_dir.iterdir():
        if path.is_file():
            shutil.copy(path, run / path.name)
    config = {"config": {"data": str(tmp_path / "data"), "output_dir": "run/"}}
    (run / TRAIN_CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    return run, noisy, clean, flipped


def read_sheet(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_planted_flips_are_found(flipped_run, tmp_path, capsys):
    run, noisy, _, flipped = flipped_run
    assert main([str(run), "--output", str(tmp_path / "suspects.csv")]) == 0
    rows = read_sheet(tmp_path / "suspects.csv")
    assert list(rows[0]) == list(COLUMNS)
    found = [int(row["id"]) for row in rows]
    assert len(set(found) & set(flipped)) >= FLIPS - 1  # confident learning finds (nearly) every planted flip
    assert len(found) <= FLIPS + 2
    assert [int(row["rank"]) for row in rows] == list(range(1, len(rows) + 1))
    assert [float(row["label_quality"]) for row in rows] == sorted(float(row["label_quality"]) for row in rows)
    assert all(row["given"] == noisy[int(row["id"])][1] and row["label"] == "" for row in rows)
    estimate = json.loads((run / LABEL_NOISE_FILE).read_text())["splits"]["train"]
    assert estimate["suspects"] == len(rows) and estimate["texts"] == len(noisy)
    assert estimate["method"] == "confident learning, 5-fold logistic regression on the fine-tuned embeddings"
    assert sum(c["suspects"] for c in estimate["per_class"].values()) == len(rows)
    assert (run / LABEL_NOISE_FIGURE).stat().st_size > 0
    assert "labels that look wrong: train" in capsys.readouterr().out


def test_budget_caps_the_sheet_and_an_estimate_is_replaced_only_with_overwrite(flipped_run, tmp_path, capsys):
    run, *_ = flipped_run
    assert main([str(run), "--output", str(tmp_path / "a.csv"), "--budget", "3"]) == 0
    assert len(read_sheet(tmp_path / "a.csv")) == 3
    capsys.readouterr()
    assert main([str(run), "--output", str(tmp_path / "b.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and LABEL_NOISE_FILE in err and "--overwrite" in err
    assert main([str(run), "--output", str(tmp_path / "b.csv"), "--overwrite"]) == 0


def test_multi_label_suspects_are_the_changed_label_sets():
    rng = np.random.default_rng(0)
    sets = [sorted(rng.choice(4, size=rng.integers(1, 3), replace=False).tolist()) for _ in range(240)]
    hot = np.zeros((240, 4))
    for row, ids in enumerate(sets):
        hot[row, ids] = 1
    embeddings = hot * 3 + rng.normal(scale=0.3, size=hot.shape)
    changed = [3, 50, 77, 120, 200, 233]
    given = [list(ids) for ids in sets]
    for row in changed:  # add a label the text does not have, or drop one it has
        missing = [label for label in range(4) if label not in given[row]]
        given[row] = sorted([*given[row], missing[0]]) if row % 2 else given[row][1:]
    probabilities = kfold_logistic(embeddings, given, 4, 5, 0, multi_label=True)
    assert probabilities.shape == (240, 4)
    found = suspects(given, probabilities, multi_label=True)
    assert set(found.rows.tolist()) == set(changed)
    assert set(np.argsort(found.quality)[: len(changed)].tolist()) == set(changed)


def filled(sheet: Path, answers: dict[int, str], out: Path) -> Path:
    """``sheet`` with ``label`` filled at the given ranks (the others left blank)."""
    rows = read_sheet(sheet)
    for row in rows:
        row["label"] = answers.get(int(row["rank"]), "")
    with open(out, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def train_dataset(rows, labels):
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=labels)})
    return Dataset.from_dict({"text": [t for t, _ in rows], "label": [labels.index(x) for _, x in rows]}, features)


def test_keep_drop_and_relabel_through_corrections(flipped_run, tmp_path, emotion_labels, capsys):
    run, noisy, clean, _ = flipped_run
    assert main([str(run), "--output", str(tmp_path / "suspects.csv")]) == 0
    rows = read_sheet(tmp_path / "suspects.csv")
    first, second, third = (int(row["id"]) for row in rows[:3])
    sheet = filled(tmp_path / "suspects.csv", {1: clean[first][1], 2: "keep", 3: "DROP"}, tmp_path / "filled.csv")
    train, summary = apply_corrections(train_dataset(noisy, emotion_labels), emotion_labels, sheet)
    texts = list(train["text"])
    assert noisy[third][0] not in texts and len(texts) == len(noisy) - 1
    assert emotion_labels[train["label"][texts.index(noisy[first][0])]] == clean[first][1]
    assert emotion_labels[train["label"][texts.index(noisy[second][0])]] == noisy[second][1]
    audit = summary["audit"]
    assert (audit["relabelled"], audit["kept"], audit["dropped"], audit["blank"]) == (1, 1, 1, len(rows) - 3)
    assert audit["kept_keys"] == [key_hash(noisy[second][0]).hex()]
    # A later audit of a run whose corrections record kept that text never asks it again.
    (run / CORRECTIONS_FILE).write_text(json.dumps(summary), encoding="utf-8")
    capsys.readouterr()
    assert main([str(run), "--output", str(tmp_path / "again.csv"), "--overwrite"]) == 0
    assert second not in [int(row["id"]) for row in read_sheet(tmp_path / "again.csv")]
    assert "1 kept earlier left out" in capsys.readouterr().out


def test_evaluation_rows_change_validation_and_test_only_with_correct_eval(emotion_labels, tmp_path):
    rows = [("i feel sad today", "sadness"), ("what a joy", "joy"), ("so scared", "fear")]
    sheet = tmp_path / "sheet.csv"
    lines = ["rank,id,split,text,given,suggested,label_quality,label"]
    lines += ["1,0,test,i feel sad today,sadness,joy 0.9,0.01,joy", "2,2,test,so scared,fear,fear 0.5,0.2,drop"]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, decisions = audit_decisions(load_flag_records(sheet), emotion_labels, False, sheet)
    assert records == [] and decisions.relabel == []
    splits = correct_evaluation({"test": train_dataset(rows, emotion_labels)}, decisions, emotion_labels, False)
    assert list(splits["test"]["text"]) == ["i feel sad today", "what a joy"]
    assert [emotion_labels[i] for i in splits["test"]["label"]] == ["joy", "joy"]
    # without --correct-eval the training run applies only the train rows: the test rows are counted, nothing else
    train, summary = apply_corrections(train_dataset(rows, emotion_labels), emotion_labels, sheet)
    assert list(train["label"]) == [emotion_labels.index(label) for _, label in rows]
    assert summary["audit"]["by_split"]["test"] == {"dropped": 1, "relabelled": 1}


def test_an_unknown_label_in_a_filled_sheet_is_one_line(flipped_run, tmp_path, emotion_labels):
    run, noisy, *_ = flipped_run
    assert main([str(run), "--output", str(tmp_path / "suspects.csv")]) == 0
    sheet = filled(tmp_path / "suspects.csv", {2: "joyy"}, tmp_path / "filled.csv")
    with pytest.raises(ToolkitError) as error:
        apply_corrections(train_dataset(noisy, emotion_labels), emotion_labels, sheet)
    message = str(error.value)
    assert "\n" not in message and "filled.csv rank 2" in message and "'joyy'" in message and "keep" in message


def test_a_run_without_its_data_is_one_line(flipped_run, tmp_path, capsys):
    run, *_ = flipped_run
    shutil.rmtree(tmp_path / "data")
    assert main([str(run), "--output", str(tmp_path / "suspects.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not on this disk" in err and str(tmp_path / "data") in err
    assert not (tmp_path / "suspects.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "0"], "--budget 0"),
        (["--folds", "1"], "--folds 1"),
        (["--output", "x.txt"], "unsupported extension"),
    ],
)
def test_bad_options_are_one_line(flipped_run, tmp_path, capsys, args, message):
    run, *_ = flipped_run
    argv = [str(run), "--output", str(tmp_path / "s.csv"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err


def test_the_run_s_own_training_dynamics_find_planted_flips(tmp_path, emotion_labels, capsys):
    """--method dynamics: the run records each training text's logits per epoch; flipped labels keep low
    probabilities there. The run fine-tunes a tiny model that knows the fixture's cue words (its head in the data's
    class order, sorted), on a sample of the split: the texts it never met are left out of the audit, and the
    sheet's ids are rows of the whole split."""
    from training.__main__ import main as train

    noisy, _, flipped = planted_flips(tmp_path / "data", emotion_labels)
    labels = sorted(emotion_labels)
    model = train_tiny_model(write_tiny_model(tmp_path / "model", labels), labels)
    argv = ["--data", str(tmp_path / "data"), "--model", str(model), "--output-dir", str(tmp_path / "run")]
    argv += ["--epochs", "3", "--learning-rate", "1e-3", "--batch-size", "8", "--report-to", "none"]
    assert train([*argv, "--max-train-samples", "170"]) == 0
    logits = text_dynamics(tmp_path / "run" / DYNAMICS_FILE, [text for text, _ in noisy])
    met = np.flatnonzero(~np.isnan(logits).all(axis=(0, 2)))
    assert logits.shape == (3, len(noisy), len(emotion_labels)) and len(met) == 170
    assert not np.isnan(logits[:, met]).any()  # every text it trained on, in every epoch
    capsys.readouterr()
    assert main([str(tmp_path / "run"), "--output", str(tmp_path / "s.csv"), "--method", "dynamics"]) == 0
    found = [int(row["id"]) for row in read_sheet(tmp_path / "s.csv")]
    planted = set(flipped) & set(met.tolist())
    assert set(found) <= set(met.tolist()) and len(set(found) & planted) >= len(planted) - 2
    assert len(found) <= len(planted) + 2
    assert all(row["given"] == noisy[int(row["id"])][1] for row in read_sheet(tmp_path / "s.csv"))
    assert "10 training texts the run did not train on left out" in capsys.readouterr().out
    estimate = json.loads((tmp_path / "run" / LABEL_NOISE_FILE).read_text())["splits"]["train"]
    assert estimate["texts"] == 170 and estimate["method"].endswith("the run's training dynamics over its epochs")


def test_dynamics_of_a_run_that_recorded_none_is_one_line(flipped_run, tmp_path, capsys):
    run, *_ = flipped_run
    assert main([str(run), "--output", str(tmp_path / "s.csv"), "--method", "dynamics"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and DYNAMICS_FILE in err and "--method logistic" in err
    assert not (tmp_path / "s.csv").exists()


def test_a_folder_that_is_no_run_is_one_line(tmp_path, capsys):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / CONFIG_FILE).write_text("{}")
    (tmp_path / "model" / WEIGHTS_FILE).write_bytes(b"")
    assert main([str(tmp_path / "model"), "--output", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and TRAIN_CONFIG_FILE in err


@pytest.mark.slow
def test_fine_tune_folds_give_every_training_text_a_probability(flipped_run, tmp_path, tiny_backbone_dir, capsys):
    """--method fine-tune: K trainings of the run's recipe through the CLI, each predicting the fold it left out."""
    run, noisy, *_ = flipped_run
    config = json.loads((run / TRAIN_CONFIG_FILE).read_text())
    config["config"].update(model=str(tiny_backbone_dir), epochs=1)
    (run / TRAIN_CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    argv = [str(run), "--output", str(tmp_path / "s.jsonl"), "--method", "fine-tune", "--folds", "2"]
    assert main(argv) == 0
    estimate = json.loads((run / LABEL_NOISE_FILE).read_text())["splits"]["train"]
    assert estimate["method"] == "confident learning, 2-fold fine-tuning" and estimate["texts"] == len(noisy)
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(rows) == estimate["suspects"] and all(0 <= row["id"] < len(noisy) for row in rows)


def test_correct_eval_trains_on_the_corrected_evaluation_data_and_keeps_the_figures_before(
    tmp_path, tiny_backbone_dir, emotion_labels
):
    from training.__main__ import main as train

    splits = write_splits(tmp_path / "data", emotion_labels, (8, 3, 3))
    (text, given), (other, dropped) = splits["test"][0], splits["test"][1]
    relabelled = next(label for label in emotion_labels if label not in (given, dropped))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "rank,id,split,text,given,suggested,label_quality,label\n"
        f"1,0,test,{text},{given},x 0.9,0.01,{relabelled}\n2,1,test,{other},x,x 0.9,0.02,drop\n",
        encoding="utf-8",
    )
    argv = ["--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir), "--epochs", "1", "--report-to", "none"]
    argv += ["--corrections", str(sheet), "--correct-eval", "--output-dir", str(tmp_path / "run")]
    assert train(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    before, after = metrics["eval_before_corrections"]["test"], metrics["eval"]["test"]
    assert sum(c["support"] for c in before["per_class"].values()) == len(splits["test"])
    assert sum(c["support"] for c in after["per_class"].values()) == len(splits["test"]) - 1
    assert after["per_class"][relabelled]["support"] == before["per_class"][relabelled]["support"] + 1
    audit = json.loads((tmp_path / "run" / CORRECTIONS_FILE).read_text())["audit"]
    assert audit["correct_eval"] is True and audit["by_split"]["test"] == {"dropped": 1, "relabelled": 1}
