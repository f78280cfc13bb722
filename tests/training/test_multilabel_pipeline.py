"""End to end: `python -m training` on tiny multi-label data, its export, and the comparison of two runs."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tests.training.test_multilabel_data import write_jsonl
from training.__main__ import main
from training.compare import compare_runs, load_run
from training.export import export_onnx
from training.quality.multi_label import multi_label_metrics
from training.runtime import onnx_session, sigmoid

OPTIONS = ["--epochs", "2", "--learning-rate", "1e-2", "--batch-size", "8", "--eval-batch-size", "16"]
MULTI_LABEL_FIGURES = ["class_distribution.png", "words_per_text.png", "embedding_map.png", "calibration.png"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_backbone_dir):
    root = tmp_path_factory.mktemp("multi-label")
    data = write_jsonl(root / "data", sizes=(64, 24, 24))
    out = root / "out"
    options = ["--data", str(data), "--label-column", "labels", "--model", str(tiny_backbone_dir), *OPTIONS]
    assert main([*options, "--output-dir", str(out)]) == 0
    return out, data


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def saved_model_outputs(out, data, split="test"):
    """The saved model's logits and the gold 0/1 matrix of a split, computed here from the files."""
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    rows = [json.loads(line) for line in (data / f"{split}.jsonl").read_text().splitlines()]
    with torch.no_grad():
        encoded = tokenizer([r["text"] for r in rows], padding=True, return_tensors="pt")
        logits = model(**encoded).logits.numpy()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    gold = np.array([[int(label in r["labels"]) for label in labels] for r in rows])
    return logits, gold, labels, model.config


def test_the_output_folder_of_a_multi_label_run(run):
    out, _ = run
    for name in [*MULTI_LABEL_FIGURES, "label_cooccurrence.png", "f1_by_support.png", "errors.csv"]:
        assert (out / name).is_file(), name
    assert not (out / "confusion_matrix.png").exists()  # no confusion matrix for label sets
    metrics = read_json(out / "metrics.json")
    assert metrics["task"] == "multi-label" and metrics["labels"] == ["anger", "fear", "joy", "love"]
    thresholds = metrics["thresholds"]
    assert thresholds["objective"] == "f1-per-label" and list(thresholds["values"]) == metrics["labels"]
    config = read_json(out / "config.json")
    assert config["problem_type"] == "multi_label_classification"
    assert config["label_thresholds"] == thresholds["values"]  # every consumer reads them with the model
    test = metrics["eval"]["test"]
    keys = {"f1_micro", "f1_macro", "f1_weighted", "f1_samples", "hamming_loss", "exact_match", "jaccard_samples"}
    assert keys <= set(test) and keys <= set(test["at_0_5"]) and "roc_auc_macro" in test
    assert set(test["per_class"]["joy"]) == {"precision", "recall", "f1", "support", "threshold"}
    assert set(metrics["baselines"]) == {"dummy", "logistic_regression"}
    assert metrics["baselines"]["logistic_regression"]["test"]["per_class"]["joy"]["threshold"] > 0
    assert set(metrics["calibration"]["test"]["per_label_ece_after"]) == set(metrics["labels"])
    assert "positive_weights" not in metrics["training"]["schedule"]  # --class-weights auto: none for multi-label
    assert metrics["data"]["label_sets"]["train"]["none"] == 8  # one text in eight has no label


def test_the_saved_model_and_thresholds_give_the_reported_metrics_and_errors(run):
    out, data = run
    metrics = read_json(out / "metrics.json")
    logits, gold, labels, config = saved_model_outputs(out, data)
    thresholds = [config.label_thresholds[label] for label in labels]
    recomputed = multi_label_metrics(gold, sigmoid(logits), thresholds, labels)
    assert recomputed["f1_macro"] == pytest.approx(metrics["eval"]["test"]["f1_macro"], abs=1e-6)
    assert recomputed["hamming_loss"] == pytest.approx(metrics["eval"]["test"]["hamming_loss"], abs=1e-6)
    with (out / "errors.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(gold) and [float(r["loss"]) for r in rows] == sorted(
        (float(r["loss"]) for r in rows), reverse=True
    )
    first = rows[0]
    assert first["label"] == ";".join(label for j, label in enumerate(labels) if gold[int(first["index"])][j])


def test_export_gives_sigmoid_probabilities_and_guards_micro_f1(run, tmp_path):
    out, data = run
    folder = shutil.copytree(out, tmp_path / "run")
    report = export_onnx(folder, max_drop_points=100)
    assert report["guard"] == "f1_micro" and {"accuracy", "f1_micro"} <= set(report["onnx-fp32"])
    assert report["onnx-fp32"]["f1_micro"] == report["torch"]["f1_micro"]
    logits, _, _, _ = saved_model_outputs(folder, data)
    import onnxruntime as ort

    tokenizer = AutoTokenizer.from_pretrained(folder / "onnx")
    rows = [json.loads(line)["text"] for line in (data / "test.jsonl").read_text().splitlines()]
    encoded = tokenizer(rows, padding=True, return_tensors="np")
    session = ort.InferenceSession(str(folder / "onnx" / "model.onnx"))
    onnx_logits, probabilities = session.run(None, {i.name: encoded[i.name] for i in session.get_inputs()})
    np.testing.assert_allclose(onnx_logits, logits, atol=1e-4)
    np.testing.assert_allclose(probabilities, sigmoid(logits), atol=1e-5)
    assert (
        read_json(folder / "onnx" / "config.json")["label_thresholds"]
        == read_json(out / "config.json")["label_thresholds"]
    )
    assert onnx_session(folder / "onnx" / "model.onnx", 1)(dict(encoded)).shape == logits.shape  # logits first


def rewrite_errors(folder, row_index: int, predicted: str) -> None:
    """Set one row's predicted set in ``folder``'s errors.csv."""
    with (folder / "errors.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["index"] == str(row_index):
            row["predicted"] = predicted
    with (folder / "errors.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_compare_two_multi_label_runs(run, tmp_path):
    """Row 0's set is wrong in the earlier run and right in the later one: one fix, nothing broken."""
    out, _ = run
    before, after = shutil.copytree(out, tmp_path / "before"), shutil.copytree(out, tmp_path / "after")
    with (out / "errors.csv").open(encoding="utf-8", newline="") as f:
        gold = next(r for r in csv.DictReader(f) if r["index"] == "0")["label"]
    rewrite_errors(after, 0, gold)
    rewrite_errors(before, 0, "anger;fear;joy;love" if gold != "anger;fear;joy;love" else "")
    comparison = compare_runs(load_run(before), load_run(after))
    assert comparison["changed"] == {"fixed": 1, "broken": 0, "other": 0}
    assert comparison["metrics"]["f1_macro"]["delta"] == 0  # the metrics are the runs', only the rows changed


def test_export_records_how_many_int8_sets_equal_pytorchs_and_refuses_int8_below_the_minimum(run, tmp_path):
    """Probabilities within a few thousandths can still flip a label at its threshold: the guard judges whole sets
    against PyTorch's, beside micro F1 (issue 29)."""
    from formats.output_folder import ONNX_DIR, ONNX_FILES, ONNX_INT8
    from training.export.latency import THREADS
    from training.export.run import load_split, logits_of
    from training.runtime import load_model, predict_sets, torch_runner

    out, _ = run
    folder = shutil.copytree(out, tmp_path / "run")
    report = export_onnx(folder, max_drop_points=100, min_set_agreement=0, overwrite=True)
    model, tokenizer, max_length = load_model(folder)
    texts, _ = load_split(folder, None, model.config.label2id)
    thresholds = list(read_json(folder / "config.json")["label_thresholds"].values())
    int8 = onnx_session(folder / ONNX_DIR / ONNX_FILES[ONNX_INT8], THREADS)
    torch_sets, int8_sets = (
        predict_sets(sigmoid(logits_of(run_batch, tokenizer, texts, max_length)), thresholds)
        for run_batch in (torch_runner(model), int8)
    )
    agreement = float((torch_sets == int8_sets).all(axis=1).mean())
    assert report["onnx-int8"]["set_agreement"] == pytest.approx(agreement)
    assert report["onnx-fp32"]["set_agreement"] == 1.0 and report["min_set_agreement"] == 0
    assert (
        read_json(folder / "metrics.json")["export"]["onnx-int8"]["set_agreement"]
        == report["onnx-int8"]["set_agreement"]
    )
    assert report["int8_accepted"] and "of the validation texts get PyTorch's set (required: 0%)" in report["reason"]

    strict = export_onnx(folder, max_drop_points=100, min_set_agreement=agreement + 0.01, overwrite=True)
    assert strict["int8_accepted"] is False and not (folder / ONNX_DIR / ONNX_FILES[ONNX_INT8]).exists()
    assert strict["reason"].startswith(
        f"int8 model refused: only {agreement:.1%} of the validation texts get PyTorch's set"
    )
    assert (folder / ONNX_DIR / "model.onnx").is_file()  # fp32 stays
