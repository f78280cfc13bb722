"""End to end: `python -m training` on tiny data writes every file of the output-folder contract."""

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from formats.explain import ERRORS_COLUMN, explain
from formats.output_folder import TRACES_DIR, TRACES_PATTERN
from tests.conftest import REPO_ROOT, RUN_FIGURES, write_splits
from training.__main__ import main
from training.config import TrainConfig
from training.data.load import SAMPLE_DATA
from training.quality.explain_errors import EXPLAINED_ERRORS

CONTRACT_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "train_config.json",
    "local_paths.json",
    "metrics.json",
    "errors.csv",
    "training_dynamics.npz",
    *RUN_FIGURES,
]
METRIC_KEYS = {"accuracy", "f1_macro", "f1_weighted", "per_class", "confusion_matrix"}
EPOCHS = 3
PER_CLASS = (12, 4, 4)  # train, validation, test texts per class
TINY_OPTIONS = ["--epochs", str(EPOCHS), "--learning-rate", "1e-2", "--batch-size", "8", "--eval-batch-size", "16"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_backbone_dir, emotion_labels):
    """One tiny training run, shared by the checks below."""
    root = tmp_path_factory.mktemp("pipeline")
    splits = write_splits(root / "data", emotion_labels, PER_CLASS)
    out = root / "out"
    code = main(
        ["--data", str(root / "data"), "--model", str(tiny_backbone_dir), "--output-dir", str(out), *TINY_OPTIONS]
    )
    assert code == 0
    return out, splits


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def test_every_contract_file_is_written(run):
    out, _ = run
    for name in CONTRACT_FILES:
        assert (out / name).is_file(), name
    for name in CONTRACT_FILES:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "checkpoints").exists()  # intermediate checkpoints are cleaned up


def test_model_config_carries_the_labels(run, emotion_labels):
    out, _ = run
    config = read_json(out / "config.json")
    labels = sorted(emotion_labels)  # files: sorted label order
    assert config["id2label"] == {str(i): name for i, name in enumerate(labels)}
    assert config["label2id"] == {name: i for i, name in enumerate(labels)}


def test_train_config_json(run):
    out, splits = run
    saved = read_json(out / "train_config.json")
    assert set(saved) >= {"config", "versions", "data", "hardware", "backbone"}
    assert set(saved["config"]) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert saved["config"]["epochs"] == EPOCHS and saved["config"]["learning_rate"] == 1e-2
    assert set(saved["versions"]) == {"python", "torch", "transformers", "datasets", "accelerate", "scikit-learn"}
    data = saved["data"]
    folder = Path(read_json(out / "local_paths.json")["data"])  # train_config.json names it by its folder name
    assert data["files"] == {
        f"{n}.txt": hashlib.sha256((folder / f"{n}.txt").read_bytes()).hexdigest()
        for n in ("train", "validation", "test")
    }
    for name, rows in splits.items():
        expected = hashlib.sha256("".join(f"{t}\t{lab}\n" for t, lab in rows).encode()).hexdigest()
        assert data["split_sha256"][name] == expected
    assert data["sizes"] == {name: len(rows) for name, rows in splits.items()}
    assert data["revision"] is None
    assert saved["hardware"] == {"device": "cpu", "name": saved["hardware"]["name"], "precision": "fp32"}
    assert saved["backbone"]["fallback"] is False and saved["backbone"]["resolved"] == saved["config"]["model"]


def test_metrics_json(run, emotion_labels):
    out, splits = run
    metrics = read_json(out / "metrics.json")
    labels = sorted(emotion_labels)
    assert metrics["labels"] == labels
    for split in ("validation", "test"):
        m = metrics["eval"][split]
        assert set(m) == METRIC_KEYS
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["f1_macro"] <= 1
        assert set(m["per_class"]) == set(labels)
        assert [m["per_class"][lab]["support"] for lab in labels] == [len(splits[split]) // len(labels)] * len(labels)
        assert len(m["confusion_matrix"]) == len(labels) and sum(map(sum, m["confusion_matrix"])) == len(splits[split])
        for baseline in ("dummy", "logistic_regression"):
            assert set(metrics["baselines"][baseline][split]) == METRIC_KEYS
    training = metrics["training"]
    assert training["device"] == "cpu" and training["seconds"] > 0 and training["samples_per_second"] > 0
    assert [entry["epoch"] for entry in training["log"]] == [1.0, 2.0, 3.0]
    assert all({"train_loss", "eval_loss", "eval_accuracy", "eval_f1_macro"} <= set(e) for e in training["log"])
    assert metrics["data"]["sizes"] == {name: len(rows) for name, rows in splits.items()}
    assert isinstance(metrics["data"]["warnings"], list)
    schedule = training["schedule"]
    assert (schedule["early_stopping"], schedule["planned_epochs"], schedule["epochs_run"]) == (False, EPOCHS, EPOCHS)
    assert schedule["reason"].startswith(f"--epochs {EPOCHS}: ran {EPOCHS} epochs as set; kept epoch")
    assert set(schedule["class_weights"]) == set(labels)  # balanced by default (equal here: balanced fixture)
    calibration = metrics["calibration"]
    assert calibration["applied"] is True and calibration["temperature"] > 0 and calibration["bins"] == 15
    for split in ("validation", "test"):
        assert set(calibration[split]) == {"ece_before", "ece_after", "nll_before", "nll_after"}
    assert calibration["validation"]["nll_after"] <= calibration["validation"]["nll_before"]
    assert metrics["embedding_map"]["method"] in {"UMAP", "PCA"}


def test_the_saved_model_gives_the_calibrated_probabilities(run):
    """The temperature lives in the saved weights: the saved model's validation NLL is the one reported after
    scaling (and times T, the one before), and errors.csv's losses are the saved model's."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.quality.calibration import negative_log_likelihood
    from training.quality.evaluate import per_example_loss

    out, splits = run
    calibration = read_json(out / "metrics.json")["calibration"]
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    label_ids = {name: i for i, name in model.config.id2label.items()}

    def logits_and_gold(rows):
        with torch.no_grad():
            encoded = tokenizer([t for t, _ in rows], padding=True, return_tensors="pt")
            return model(**encoded).logits.double().numpy(), [label_ids[label] for _, label in rows]

    logits, gold = logits_and_gold(splits["validation"])
    reported = calibration["validation"]
    assert negative_log_likelihood(logits, gold) == pytest.approx(reported["nll_after"], abs=1e-5)
    assert negative_log_likelihood(logits * calibration["temperature"], gold) == pytest.approx(
        reported["nll_before"], abs=1e-5
    )
    with open(out / "errors.csv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    assert np.allclose([float(r["loss"]) for r in rows], per_example_loss(*logits_and_gold(splits["test"])), atol=1e-4)


def test_reported_validation_metrics_are_the_best_epochs(run):
    """The saved model is the best epoch's, and its predictions line up with the rows."""
    out, _ = run
    metrics = read_json(out / "metrics.json")
    best = max(metrics["training"]["log"], key=lambda e: e["eval_f1_macro"])
    assert metrics["eval"]["validation"]["f1_macro"] == pytest.approx(best["eval_f1_macro"])
    assert metrics["eval"]["validation"]["accuracy"] == pytest.approx(best["eval_accuracy"])


def test_errors_csv_lists_every_test_example_by_loss(run, emotion_labels):
    out, splits = run
    with open(out / "errors.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["index", "text", "label", "predicted", "loss", ERRORS_COLUMN]
    test = splits["test"]
    assert sorted(int(r["index"]) for r in rows) == list(range(len(test)))
    for r in rows:
        assert (r["text"], r["label"]) == test[int(r["index"])]
        assert r["predicted"] in emotion_labels
    losses = [float(r["loss"]) for r in rows]
    assert losses == sorted(losses, reverse=True)
    metrics = read_json(out / "metrics.json")
    correct = sum(r["label"] == r["predicted"] for r in rows)
    assert correct / len(rows) == pytest.approx(metrics["eval"]["test"]["accuracy"])


def test_errors_csv_names_the_words_that_pushed_toward_each_wrong_label(run, emotion_labels):
    """The first EXPLAINED_ERRORS misclassified rows: the saved model's explanation of the wrong label, top words."""
    from training.runtime import load_model, probability_rows, torch_runner

    out, _ = run
    with open(out / "errors.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    wrong = [r for r in rows if r["label"] != r["predicted"]]
    assert wrong, "the tiny run should get some test examples wrong"
    assert all(r[ERRORS_COLUMN] == "" for r in rows if r["label"] == r["predicted"])
    assert all(r[ERRORS_COLUMN] == "" for r in wrong[EXPLAINED_ERRORS:])
    model, tokenizer, max_length = load_model(out)
    predict = probability_rows(torch_runner(model), tokenizer, max_length, emotion_labels, multi_label=False)
    for r in wrong[:EXPLAINED_ERRORS]:
        explanation = explain(r["text"], predict, r["predicted"])
        scores = dict(explanation.words)  # a repeated word: one of its scores, which the check allows
        written = r[ERRORS_COLUMN].split()
        assert set(written) <= set(r["text"].split()) and len(written) == len(explanation.top_words())
        # Near-ties may swap between the in-memory model and the saved one: compare the scores, strongest first.
        top = sorted((s for _, s in explanation.words), reverse=True)[: len(written)]
        assert [scores[w] for w in written] == pytest.approx(top, abs=1e-4)


def test_rerun_from_train_config_json_reproduces_the_run(run, tmp_path):
    out, _ = run
    again = tmp_path / "again"
    assert main(["--config", str(out / "train_config.json"), "--output-dir", str(again)]) == 0
    first, second = read_json(out / "train_config.json"), read_json(again / "train_config.json")
    assert second["data"]["split_sha256"] == first["data"]["split_sha256"]
    assert {k: v for k, v in second["config"].items() if k != "output_dir"} == {
        k: v for k, v in first["config"].items() if k != "output_dir"
    }
    assert read_json(again / "metrics.json")["eval"] == read_json(out / "metrics.json")["eval"]  # seeded, CPU


def test_three_class_jsonl_data_trains_without_code_change(tmp_path, tiny_backbone_dir, capsys):
    labels = ["positive", "negative", "neutral"]
    words = {"positive": "happy", "negative": "furious", "neutral": "today"}
    for name, n in (("train", 10), ("validation", 3), ("test", 3)):
        records = [{"tweet": f"i feel {words[lab]} {name} {i}", "sentiment": lab} for i in range(n) for lab in labels]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(
            [
                "--data",
                str(tmp_path),
                "--text-column",
                "tweet",
                "--label-column",
                "sentiment",
                "--model",
                str(tiny_backbone_dir),
                "--output-dir",
                str(out),
                "--epochs",
                "1",
                "--batch-size",
                "8",
            ]
        )
        == 0
    )
    assert read_json(out / "config.json")["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    printed = capsys.readouterr().out.splitlines()  # the data summary counts every class of every split
    assert "Examples per class (train / validation / test):" in printed
    for label in labels:
        assert f"  {label:24} 10 / 3 / 3" in printed
    metrics = read_json(out / "metrics.json")
    assert metrics["labels"] == ["negative", "neutral", "positive"]
    assert len(metrics["eval"]["test"]["confusion_matrix"]) == 3


def test_user_errors_are_one_line_with_exit_code_2(tmp_path, capsys, tiny_backbone_dir):
    (tmp_path / "train.txt").write_text("fine;joy\nbroken line\n", encoding="utf-8")
    assert (
        main(
            [
                "--data",
                str(tmp_path / "train.txt"),
                "--model",
                str(tiny_backbone_dir),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == f"data error: {tmp_path / 'train.txt'} line 2: no ';' separator — expected \"text;label\""
    assert not (tmp_path / "out").exists()  # nothing written before the data is valid


def test_unreachable_hub_model_stops_with_a_hint(tmp_path, capsys):
    write_splits(tmp_path / "data", ["joy", "fear"], per_class=(5, 1, 1))
    assert main(["--data", str(tmp_path / "data"), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "distilbert/distilbert-base-uncased" in err[0] and "--model offline" in err[0]


def test_demo_config_falls_back_loudly_to_offline_backbone_and_sample(tmp_path, capsys):
    """No Hub in tests: demo.yaml's model and dataset are unreachable, and it says so; it exports to ONNX."""
    out = tmp_path / "demo"
    assert (
        main(
            [
                "--config",
                str(REPO_ROOT / "demo.yaml"),
                "--output-dir",
                str(out),
                "--max-train-samples",
                "24",
                "--max-eval-samples",
                "12",
                "--epochs",
                "1",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert err.count("FALLBACK") == 2 and "dair-ai/emotion" in err and "distilbert/distilbert-base-uncased" in err
    saved = read_json(out / "train_config.json")
    assert (
        saved["backbone"]["fallback"] is True and saved["backbone"]["requested"] == "distilbert/distilbert-base-uncased"
    )
    assert saved["backbone"]["hub_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert saved["config"]["model"] == "offline" and saved["config"]["learning_rate"] == 1e-4
    assert saved["data"]["fallback"] is True and saved["data"]["synthetic_sample"] is True
    assert saved["data"]["source"] == "sample/"  # by its name: the path of this machine stays in local_paths.json
    assert saved["config"]["export_onnx"] is True  # make demo serves the int8 ONNX model
    assert (out / "onnx" / "model_int8.onnx").is_file() and read_json(out / "metrics.json")["export"]["int8_accepted"]
    assert read_json(out / "metrics.json")["data"]["sizes"] == {"train": 24, "validation": 12, "test": 12}


def test_corrections_through_the_cli(tmp_path, tiny_backbone_dir, emotion_labels):
    """--corrections relabels a training text, adds a new one, and never takes in an evaluation text —
    not even one that --max-eval-samples left out of this run's evaluation."""
    splits = write_splits(tmp_path / "data", emotion_labels, PER_CLASS)
    train_text, train_label = splits["train"][0]
    new_label = next(label for label in emotion_labels if label != train_label)
    flags = [
        # signed in: anonymous votes cannot change a training label (test_corrections_votes.py)
        {"id": "a", "time": "2026-11-26T10:00:00Z", "text": train_text, "corrected_label": new_label, "client": "hf:a"},
        {"id": "b", "time": "2026-11-26T10:01:00Z", "text": "brand new tweet", "corrected_label": "joy"},
        *(
            {"id": f"t{i}", "time": "2026-11-26T10:02:00Z", "text": text, "corrected_label": "joy"}
            for i, (text, _) in enumerate(splits["test"])
        ),
    ]
    (tmp_path / "flags.jsonl").write_text("".join(json.dumps(f) + "\n" for f in flags), encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "--data",
            str(tmp_path / "data"),
            "--model",
            str(tiny_backbone_dir),
            "--output-dir",
            str(out),
            "--corrections",
            str(tmp_path / "flags.jsonl"),
            "--min-votes",  # each flag is one client's (they have no client field): one vote must do
            "1",
            "--max-eval-samples",
            "2",
            *TINY_OPTIONS,
        ]
    )
    assert code == 0
    summary = read_json(out / "corrections.json")
    assert (summary["relabelled"], summary["added"], summary["min_votes"]) == (1, 1, 1)
    assert summary["rejected"] == len(splits["test"])  # every test text, also those not evaluated
    assert all("test/validation" in r["reason"] for r in summary["rejections"])
    assert read_json(out / "train_config.json")["data"]["sizes"]["train"] == len(splits["train"]) + 1


def test_hub_reachable_asks_the_endpoint_once(hub_server, monkeypatch):
    """The demo's quick Hub check: the local Hub server answers (401 without a token counts); a closed port does not."""
    import socket

    from huggingface_hub import constants

    from training.offline import hub_reachable

    assert hub_reachable(timeout=5)
    assert any(r.path == "/api/whoami-v2" for r in hub_server.requests)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed}")
    assert not hub_reachable(timeout=5)


def test_push_to_hub_of_the_synthetic_sample_needs_allow_demo_model(tmp_path, capsys, tiny_backbone_dir):
    """Refused before training (publish would refuse it at the end), naming the flag that allows it."""
    out = tmp_path / "out"
    argv = ["--data", str(SAMPLE_DATA), "--model", str(tiny_backbone_dir), "--output-dir", str(out)]
    assert main([*argv, "--push-to-hub", "--hub-model-id", "me/demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "synthetic demo sample" in err[0] and "pass --allow-demo-model" in err[0]
    assert not out.exists()


def test_too_few_examples_of_a_label_stop_before_anything_is_written(tmp_path, capsys, tiny_backbone_dir):
    splits = write_splits(tmp_path / "data", ["joy", "fear"], per_class=(6, 2, 2))
    with (tmp_path / "data" / "train.txt").open("a", encoding="utf-8") as f:
        f.write("so happy today;joyy\n")
    out = tmp_path / "out"
    argv = ["--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir), "--output-dir", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    line = len(splits["train"]) + 1
    assert len(err) == 1 and f"'joyy' on line {line}" in err[0] and "fewer than 5 training examples" in err[0]
    assert not out.exists()


def test_the_run_holds_tensorboard_traces_of_every_epoch(run):
    """By default (--report-to tensorboard) the folder holds what Trainer logs, and no local path."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = run
    events = sorted((out / TRACES_DIR).glob(TRACES_PATTERN))
    assert len(events) == 1
    traces = EventAccumulator(str(events[0])).Reload()
    scalars = set(traces.Tags()["scalars"])
    assert {"train/loss", "train/learning_rate", "eval/loss", "eval/accuracy", "eval/f1_macro"} <= scalars
    log = read_json(out / "metrics.json")["training"]["log"]  # one entry per epoch
    assert [event.value for event in traces.Scalars("eval/f1_macro")] == pytest.approx(
        [entry["eval_f1_macro"] for entry in log], rel=1e-6
    )  # every epoch's validation F1, as metrics.json reports it (TensorBoard keeps float32)
    assert str(out.parent) not in events[0].read_bytes().decode("utf-8", "replace")
