"""python -m training.predict with a multi-label model: the three gold layouts, the output per format, the
metrics against training/quality/multi_label.py, resume, torchrun, every backend, and the single-label
refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tests.conftest import REPO_ROOT, fit_full_batch, write_tiny_model
from tests.training.test_multilabel_data import label_sets, text
from training.predict import run
from training.predict.__main__ import main
from training.predict.parts import output_schema, shard_table, write_table
from training.predict.sets import multi_label_summary, shard_counts
from training.quality.multi_label import multi_label_metrics
from training.runtime import predict_sets, sigmoid

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "run_multilabel"  # a multi-label run's config.json (no weights)
CONFIG = json.loads((FIXTURE / "config.json").read_text(encoding="utf-8"))
LABELS = [CONFIG["id2label"][str(i)] for i in range(len(CONFIG["id2label"]))]  # anger, fear, joy, love
THRESHOLDS = [CONFIG["label_thresholds"][label] for label in LABELS]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}


def fit_multi_label(directory, steps: int = 150):
    """The tiny BERT of ``directory`` fitted with BCE to the multi-label fixture texts, so that its probabilities
    are confident, as a trained model's are (int8 agreement on near-0.5 sigmoids would prove nothing)."""
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(directory, problem_type="multi_label_classification")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    sets = label_sets(64, seed=1)
    encoded = tokenizer([text(s, i) for i, s in enumerate(sets)], padding=True, return_tensors="pt")
    gold = torch.tensor([[float(label in s) for label in LABELS] for s in sets])
    fit_full_batch(model, encoded, gold, steps)
    model.config.label_thresholds = CONFIG["label_thresholds"]  # what python -m training saves with the model
    model.save_pretrained(directory)
    return model, tokenizer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny multi-label BERT over the fixture run's labels and thresholds, exported to onnx/ (fp32, int8)."""
    from formats.output_folder import ONNX_DIR
    from training.export import write_onnx_folder

    directory = write_tiny_model(tmp_path_factory.mktemp("multi-label-model"), LABELS, arch="bert")
    model, tokenizer = fit_multi_label(directory)
    write_onnx_folder(model, tokenizer, directory / ONNX_DIR)
    return directory


@pytest.fixture(scope="module")
def gold():
    """60 texts with their gold sets (none, one or two labels), other seeds than the model was fitted on."""
    return [(text(s, i), s) for i, s in enumerate(label_sets(60, seed=4))]


def predict(model, source, out, *extra) -> int:
    return main([str(model), str(source), "--output", str(out), "--no-progress", "--threads", "1", *extra])


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def torch_probabilities(model_dir, texts):
    """The sigmoid of the PyTorch model's logits, all texts in one padded batch."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with torch.inference_mode():
        logits = model(**tokenizer(texts, padding=True, truncation=True, return_tensors="pt")).logits
    return sigmoid(logits.numpy())


def write_layout(folder, layout: str, rows) -> tuple:
    """``rows`` (text, set) as an input file of one layout, with the options that read it."""
    if layout == "list":
        path = folder / "gold.jsonl"
        path.write_text("".join(json.dumps({"text": t, "labels": s}) + "\n" for t, s in rows), encoding="utf-8")
        return path, ("--label-column", "labels")
    if layout == "columns":
        path = folder / "gold.csv"
        frame = pd.DataFrame({"text": [t for t, _ in rows]})
        for label in reversed(LABELS):  # the columns' order need not be the model's
            frame[label] = [int(label in s) for _, s in rows]
        frame["fear"] = frame["fear"].map({1: "true", 0: "False"})  # true/false cells, as training reads them
        frame.to_csv(path, index=False)
        return path, ("--label-columns", ",".join(reversed(LABELS)))
    path = folder / "gold.txt"  # "text;joy|love" lines
    path.write_text("".join(f"{t};{'|'.join(s)}\n" for t, s in rows), encoding="utf-8")
    return path, ("--multi-label", "--label-separator", "|")


def expected_metrics(frame: pd.DataFrame, rows) -> dict:
    """The metrics of training/quality/multi_label.py on the output's own probabilities (no roc_auc_macro, as
    predict)."""
    probabilities = frame[[f"prob_{label}" for label in LABELS]].to_numpy()
    y_true = np.array([[int(label in s) for label in LABELS] for _, s in rows])
    metrics = multi_label_metrics(y_true, probabilities, THRESHOLDS, LABELS)
    metrics.pop("roc_auc_macro")
    return metrics


def assert_metrics_equal(found: dict, expected: dict) -> None:
    for key, value in expected.items():
        if isinstance(value, dict):
            assert_metrics_equal(found[key], value)
        else:
            assert found[key] == pytest.approx(value, abs=1e-12), key


@pytest.mark.parametrize("layout", ["list", "columns", "separator"])
def test_each_gold_layout_gives_training_metrics_of_the_same_probabilities(model_dir, gold, tmp_path, layout, capsys):
    source, options = write_layout(tmp_path, layout, gold)
    out = tmp_path / "sets.parquet"
    assert predict(model_dir, source, out, "--backend", "onnx-fp32", "--shard-size", "16", *options) == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["id", "labels", *(f"prob_{label}" for label in LABELS)]  # no label, no score
    probabilities = frame[[f"prob_{label}" for label in LABELS]].to_numpy()
    np.testing.assert_allclose(probabilities, torch_probabilities(model_dir, [t for t, _ in gold]), atol=1e-5)
    chosen = predict_sets(probabilities, THRESHOLDS)
    assert [list(s) for s in frame["labels"]] == [[LABELS[j] for j in np.flatnonzero(row)] for row in chosen]
    assert 0 < chosen.sum() < chosen.size and chosen.sum(axis=1).max() >= 2  # sets of 0, 1 and several labels
    metrics = json.loads((tmp_path / "predict_metrics.json").read_text())
    assert_metrics_equal(metrics, expected_metrics(frame, gold))
    assert "roc_auc_macro" not in metrics  # not streamable exactly (docs/predict.md)
    assert metrics["per_class"]["anger"]["threshold"] == 0.14 and metrics["rows"] == 60
    assert "micro F1" in metrics["summary"] and "on 60 labelled texts" in capsys.readouterr().out


def test_the_output_in_each_format(model_dir, gold, tmp_path):
    rows = [*gold[:20], ("", ["joy"])]  # an empty text keeps its row, without a prediction
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t, "labels": s}) + "\n" for t, s in rows), encoding="utf-8")
    for ext in ("parquet", "csv", "jsonl"):
        assert predict(model_dir, source, tmp_path / f"out.{ext}", "--label-column", "labels", "--keep-text") == 0
    parquet = pq.read_table(tmp_path / "out.parquet")
    assert parquet.schema.field("labels").type == pa.list_(pa.string())
    sets = parquet.column("labels").to_pylist()
    assert sets[-1] is None and [] in sets[:-1]  # null for an empty text; an empty list for "none of them"
    assert parquet.column("prob_joy").to_pylist()[-1] is None
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["labels"] for line in lines] == sets  # real JSON lists
    csv = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert csv["labels"].tolist() == [";".join(s) if s else "" for s in sets]
    assert list(csv.columns) == ["id", "labels", *(f"prob_{label}" for label in LABELS), "text"]
    metrics = json.loads((tmp_path / "predict_metrics.json").read_text())
    assert metrics["empty"] == 1 and metrics["per_class"]["joy"]["support"] == sum("joy" in s for _, s in gold[:20])


def test_a_csv_set_cell_is_formula_neutralised(tmp_path):
    labels = ["=cmd", "-_-", "joy"]
    schema = output_schema(labels, ids_are_text=False, keep_text=False, multi_label=True)
    probs = np.array([[0.9, 0.9, 0.1], [0.1, 0.8, 0.9], [0.1, 0.1, 0.1]], dtype=np.float32)
    table = shard_table(schema, labels, [0, 1, 2, 3], ["a", "b", "c", ""], probs, (0.5, 0.5, 0.5))
    write_table(table, tmp_path / "out.csv", ".csv")
    assert pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)["labels"].tolist() == [
        "'=cmd;-_-",
        "'-_-;joy",
        "",
        "",
    ]
    write_table(table, tmp_path / "out.jsonl", ".jsonl")
    cells = [json.loads(line)["labels"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert cells == [["=cmd", "-_-"], ["-_-", "joy"], [], None]  # JSON lines keep names exactly


def test_counts_of_shards_give_the_metrics_of_all_rows():
    rng = np.random.default_rng(0)
    y_true = rng.random((97, 5)) < 0.3
    y_true[:, 4] = False  # a label never true: zero_division as in training
    y_true[:7] = False  # texts with no label
    probabilities = rng.random((97, 5)).astype(np.float32)
    thresholds = [0.2, 0.5, 0.7, 0.4, 0.9]
    labels = list("abcde")
    shards = [shard_counts(y_true[i : i + 10], probabilities[i : i + 10], thresholds) for i in range(0, 97, 10)]
    metrics, line = multi_label_summary(
        [*shards, shard_counts(y_true[:0], probabilities[:0], thresholds)], labels, thresholds
    )
    expected = multi_label_metrics(y_true, probabilities, thresholds, labels)
    expected.pop("roc_auc_macro")
    assert_metrics_equal(metrics, expected)
    assert "on 97 labelled texts" in line


def crash_after_first_shard(monkeypatch):
    """Make the next run fail like a crash once shard 0 is done (its parts stay)."""
    label_shard = run.label_shard

    def crashing(engine, parts, shard, *args):
        if shard > 0:
            raise RuntimeError("crash")
        label_shard(engine, parts, shard, *args)

    monkeypatch.setattr(run, "label_shard", crashing)


def test_resume_continues_and_refuses_other_thresholds(model_dir, gold, tmp_path, capsys, monkeypatch):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    source, options = write_layout(tmp_path, "list", gold)
    out = tmp_path / "sets.parquet"
    args = ("--shard-size", "16", *options)
    crash_after_first_shard(monkeypatch)
    with pytest.raises(RuntimeError):
        predict(folder, source, out, *args)
    monkeypatch.undo()
    assert (tmp_path / "sets.parquet.parts" / "part-00000.json").is_file() and not out.exists()
    assert predict(folder, source, out, *args) == 0
    assert "(44 in this run: " in capsys.readouterr().out  # shard 0 (16 rows) was not labelled again
    resumed, metrics = pd.read_parquet(out), json.loads((tmp_path / "predict_metrics.json").read_text())
    assert predict(folder, source, tmp_path / "one.parquet", *args) == 0
    pd.testing.assert_frame_equal(resumed, pd.read_parquet(tmp_path / "one.parquet"))
    assert_metrics_equal(metrics, expected_metrics(resumed, gold))

    crash_after_first_shard(monkeypatch)
    with pytest.raises(RuntimeError):
        predict(folder, source, out, *args, "--overwrite")
    monkeypatch.undo()
    config = json.loads((folder / "config.json").read_text())
    config["label_thresholds"]["joy"] = 0.9  # tuned again into the same folder; the weights are the same
    (folder / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert predict(folder, source, out, *args) == 2
    assert one_line(capsys) == (
        f"predict error: {tmp_path / 'sets.parquet.parts'} holds parts written before the model's thresholds "
        "(label_thresholds in its config.json) changed — resuming would mix old and new rows; "
        "pass --overwrite to start over"
    )
    assert predict(folder, source, out, *args, "--overwrite") == 0
    assert json.loads((tmp_path / "predict_metrics.json").read_text())["per_class"]["joy"]["threshold"] == 0.9


def test_torchrun_two_ranks_match_one_process(model_dir, gold, tmp_path):
    source, options = write_layout(tmp_path, "columns", gold * 5)
    out = tmp_path / "ranks.csv"
    extra = ("--shard-size", "40", "--keep-text", "--metrics", str(tmp_path / "ranks.json"), *options)
    command = [str(model_dir), str(source), "--output", str(out), "--no-progress", "--threads", "1", *extra]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = subprocess.run(
        [*torchrun, "-m", "training.predict", *command],
        env=ENV,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(300 in this run on 2 processes: " in result.stdout
    one = tmp_path / "one.csv"
    assert predict(model_dir, source, one, *extra[:3], "--metrics", str(tmp_path / "one.json"), *options) == 0
    assert out.read_bytes() == one.read_bytes()
    ranks, single = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("ranks", "one"))
    expected = expected_metrics(pd.read_csv(one), gold * 5)
    assert_metrics_equal(ranks, expected)
    assert_metrics_equal(single, expected)


def test_every_backend(model_dir, gold, tmp_path):
    texts = [t for t, _ in gold]
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
    reference = torch_probabilities(model_dir, texts)
    chosen = predict_sets(reference, THRESHOLDS)
    for backend in ("torch", "onnx-fp32", "onnx-int8"):
        out = tmp_path / f"{backend}.parquet"
        assert predict(model_dir, source, out, "--backend", backend, "--batch-size", "7") == 0
        frame = pd.read_parquet(out)
        probabilities = frame[[f"prob_{label}" for label in LABELS]].to_numpy()
        found = np.array([[label in s for label in LABELS] for s in frame["labels"]])
        if backend == "onnx-int8":  # activations quantized per batch: near-threshold decisions may move
            assert np.abs(probabilities - reference).max() < 0.05
            assert (found == chosen).all(axis=1).mean() >= 0.99  # the whole set, as the single-label check
        else:
            np.testing.assert_allclose(probabilities, reference, atol=1e-5)
            assert (found == chosen).all()


def test_missing_thresholds_are_0_5_and_said_once_and_bad_ones_one_line(model_dir, gold, tmp_path, capsys):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    del config["label_thresholds"]
    (folder / "config.json").write_text(json.dumps(config))
    source, options = write_layout(tmp_path, "list", gold)
    assert predict(folder, source, tmp_path / "out.parquet", "--backend", "torch", *options) == 0
    said = capsys.readouterr().out
    assert said.count("has no label_thresholds for every label: predicting a label at probability >= 0.5") == 1
    metrics = json.loads((tmp_path / "predict_metrics.json").read_text())
    assert metrics["per_class"]["joy"]["threshold"] == 0.5
    assert metrics["f1_macro"] == metrics["at_0_5"]["f1_macro"]
    config["label_thresholds"] = {"joy": "high"}
    (folder / "config.json").write_text(json.dumps(config))
    assert predict(folder, source, tmp_path / "out.parquet", "--overwrite", *options) == 2
    assert one_line(capsys) == (
        f"predict error: {folder}/config.json: label_thresholds['joy'] is 'high' — expected a number between 0 and 1"
    )


def test_multi_label_options_on_a_single_label_model_are_one_line(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "in.csv").write_text("text,joy,fear\nso happy,1,0\n", encoding="utf-8")
    for options, named in (
        (("--label-columns", "joy,fear"), "--label-columns"),
        (("--multi-label",), "--multi-label"),
        (("--multi-label", "--label-columns", "joy,fear"), "--label-columns and --multi-label"),
    ):
        assert (
            predict(tiny_model_dir, tmp_path / "in.csv", tmp_path / "out.parquet", "--backend", "torch", *options) == 2
        )
        assert one_line(capsys) == (
            f"predict error: {named}: {tiny_model_dir} is a single-label model — these options read multi-label gold "
            "sets; pass --label-column for one label per text"
        )
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": "so happy", "label": ["joy"]}) + "\n", encoding="utf-8")
    assert predict(tiny_model_dir, tmp_path / "in.jsonl", tmp_path / "out.parquet", "--backend", "torch") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (  # after transformers' "Loading weights" bar
        f"data error: {tmp_path / 'in.jsonl'} line 1: the label is a list (['joy']), but the model is single-label "
        "(classes: sadness, joy, love, anger, fear, surprise) — pass --no-labels, or use a multi-label model"
    )


@pytest.mark.parametrize(
    ("name", "content", "options", "message"),
    [
        (
            "in.jsonl",
            '{"text": "a", "labels": ["joy"]}\n{"text": "b", "labels": ["joy", "grief"]}\n',
            ("--label-column", "labels"),
            "in.jsonl line 2: label 'grief' is not a class of the model (classes: anger, fear, joy, love) — pass "
            "--label-column for another column, or --no-labels",
        ),
        (
            "in.txt",
            "so happy;joy\nso sad;joy,love\n",
            (),
            "in.txt line 2: label 'joy,love' is not a class of the model (classes: anger, fear, joy, love) — a cell "
            "of several labels needs --multi-label (and --label-separator), or pass --no-labels",
        ),
        (
            "in.txt",
            "so happy;joy\nso sad;joy,hate\n",
            ("--multi-label",),
            "in.txt line 2: label 'hate' is not a class of the model",
        ),
        (
            "in.csv",
            "text,joy,fear\nso happy,1,0\n",
            ("--label-columns", "joy,fear"),
            "--label-columns names 2 of the model's 4 classes (missing: anger, love) — name one 0/1 column per class",
        ),
        (
            "in.csv",
            "text,joy,fear,anger,love,hate\nso happy,1,0,0,0,1\n",
            ("--label-columns", "joy,fear,anger,love,hate"),
            "--label-columns: 'hate' is not a class of the model (classes: anger, fear, joy, love)",
        ),
        (
            "in.csv",
            "text,joy,fear,anger,love\nso happy,1,0,0,maybe\n",
            ("--label-columns", "joy,fear,anger,love"),
            "in.csv line 2: column 'love' holds 'maybe' — expected 0 or 1 (or true/false)",
        ),
        (
            "in.jsonl",
            '{"text": "a", "labels": ["joy"]}\n{"text": "b", "labels": null}\n',
            ("--label-column", "labels"),
            "1 rows have no label and 1 have one — label every row (an empty list: none of the labels)",
        ),
    ],
)
def test_bad_gold_sets_are_one_line(model_dir, tmp_path, capsys, name, content, options, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert predict(model_dir, tmp_path / name, tmp_path / "out.parquet", *options) == 2
    assert message in one_line(capsys)


# --- Issue 29: more bad inputs, each one line and exit status 2 -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "options", "message"),
    [
        (
            "in.txt",
            "so happy;joy\nso sad;anger;love\n",
            ("--multi-label", "--label-separator", ";"),
            "in.txt: --label-separator ';' cannot work in a .txt file, whose lines are \"text;label\" split on the "
            "last ';'",
        ),
        (
            "in.csv",
            "text,joy,fear,anger,love\nso happy,1,0,0,0\n",
            ("--label-columns", "joy,joy,fear,anger,love"),
            "in.csv: --label-columns names 'joy' twice (joy,joy,fear,anger,love) — name each label's 0/1 column once",
        ),
        (
            "in.jsonl",
            '{"text": "a", "labels": ["joy"]}\n{"text": "b", "labels": ["joy", null]}\n',
            ("--label-column", "labels"),
            "in.jsonl line 2: a null among the labels ['joy', None] — expected label names",
        ),
    ],
)
def test_more_bad_gold_inputs_are_one_line(model_dir, tmp_path, capsys, name, content, options, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert predict(model_dir, tmp_path / name, tmp_path / "out.parquet", *options) == 2
    said = one_line(capsys)
    assert said.startswith("data error: ") and message in said


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda config: "{not json", "config.json: not valid JSON (Expecting property name enclosed in double quotes"),
        (
            lambda config: json.dumps({**config, "label_thresholds": {**config["label_thresholds"], "joy": None}}),
            "config.json: label_thresholds['joy'] is None — expected a number between 0 and 1",
        ),
        (
            lambda config: json.dumps({**config, "label_thresholds": {**config["label_thresholds"], "joy": 1.5}}),
            "config.json: label_thresholds['joy'] is 1.5 — expected a number between 0 and 1",
        ),
    ],
)
def test_a_broken_config_json_is_one_line_and_exit_2(model_dir, gold, tmp_path, capsys, edit, message):
    """A config.json that is not JSON gave transformers' OSError, exit 1; a null or 1.5 threshold is the one rule's
    error (formats.model_config.label_thresholds)."""
    folder = shutil.copytree(model_dir, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(edit(config), encoding="utf-8")
    source, options = write_layout(tmp_path, "list", gold)
    assert predict(folder, source, tmp_path / "out.parquet", *options) == 2
    assert one_line(capsys).startswith(f"predict error: {folder}/{message}")
