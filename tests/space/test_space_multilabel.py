"""A multi-label model in the Space: each label's own probability, the predicted set against the thresholds, flags
that carry a set, their records and CSV export, and a start-up with its reports; single-label answers unchanged."""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import shutil
import subprocess
import sys

import about
import backend
import flags
import httpx
import label_sets
import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from formats.flag_record import FIELDS, is_set_record
from tests.conftest import MULTI_LABELS, REPO_ROOT, THRESHOLDS
from tests.space.conftest import no_limits, serve, start_app
from tests.space.test_space_mcp import mcp_round_trip
from tests.space.test_space_page import page_markdown

TEXT = "i feel so happy and glad, but a bit scared"
PREDICTED = ["anger", "joy"]  # the labels THRESHOLDS lets through for any text of the tiny random model


@pytest.fixture
def served_sets(app_module, multilabel_torch, tmp_path):
    """The app on the multi-label model with a fresh flag store: (url, store)."""
    store = flags.FlagStore(tmp_path / "flags")
    demo = app_module.build_demo(
        multilabel_torch, store, model_id="tiny/multi", model_revision="r1", policy=no_limits()
    )
    yield serve(demo), store
    demo.close()


def confidences(result: dict) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in result["confidences"]}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --- The model: sigmoids and thresholds, in both backends ----------------------------------------------------


def test_both_backends_give_each_label_its_sigmoid_and_read_the_thresholds(
    multilabel_dir, multilabel_torch, monkeypatch
):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    network = AutoModelForSequenceClassification.from_pretrained(multilabel_dir).eval()
    with torch.no_grad():
        logits = network(**AutoTokenizer.from_pretrained(multilabel_dir)(TEXT, return_tensors="pt")).logits[0]
    expected = dict(zip(MULTI_LABELS, sigmoid(logits.double().numpy()).tolist(), strict=True))
    assert multilabel_torch.predict([TEXT])[0] == pytest.approx(expected, abs=1e-6)
    assert sum(expected.values()) == pytest.approx(2.0, abs=0.1)  # four near-even yes/no questions, not one
    monkeypatch.setenv("BACKEND", "onnx-fp32")
    onnx_model = backend.load_backend(str(multilabel_dir))  # no torch in its path: the exported config.json
    assert multilabel_torch.thresholds == onnx_model.thresholds == THRESHOLDS
    assert onnx_model.predict([TEXT])[0] == pytest.approx(expected, abs=1e-4)


def test_the_probability_function_and_the_thresholds_read_from_a_config():
    [row] = backend.probabilities(["a", "b"], np.array([[1000.0, -1000.0]]), multi_label=True)  # no overflow
    assert row == {"a": 1.0, "b": 0.0}
    id2label = {"id2label": {"0": "a", "1": "b"}}
    config = {"problem_type": "multi_label_classification", "label_thresholds": {"a": 0.3}, **id2label}
    assert backend.thresholds_of(config, "m") == {"a": 0.3, "b": 0.5}  # 0.5 where none was tuned
    assert backend.thresholds_of({"problem_type": "single_label_classification", **id2label}, "m") is None
    assert backend.thresholds_of(id2label, "m") is None


# --- /predict --------------------------------------------------------------------------------------------------


def test_predict_answers_each_label_its_own_probability_and_the_set_at_its_thresholds(served_sets, multilabel_torch):
    url, _ = served_sets
    result = Client(url, verbose=False).predict(TEXT, api_name="/predict")
    assert set(result) == {"label", "confidences", "predicted"}
    scores = confidences(result)
    assert scores == pytest.approx(multilabel_torch.predict([TEXT])[0], abs=1e-6)
    assert list(scores) == sorted(scores, key=scores.get, reverse=True)  # highest first
    assert abs(sum(scores.values()) - 1) > 0.5  # they do not sum to 1
    assert result["predicted"] == [label for label in MULTI_LABELS if scores[label] >= THRESHOLDS[label]] == PREDICTED
    assert result["label"] == "predicted: anger, joy"


def test_predict_says_when_no_label_passes_its_threshold_and_answers_an_empty_text(
    app_module, multilabel_torch, tmp_path
):
    strict = copy.copy(multilabel_torch)
    strict.thresholds = dict.fromkeys(MULTI_LABELS, 0.99)
    demo = app_module.build_demo(strict, flags.FlagStore(tmp_path), model_id="tiny/multi", policy=no_limits())
    client = Client(serve(demo), verbose=False)
    try:
        nothing = client.predict(TEXT, api_name="/predict")
        empty = client.predict("   ", api_name="/predict")
    finally:
        demo.close()
    assert nothing["predicted"] == [] and nothing["label"] == label_sets.NO_LABEL == "no label passes its threshold"
    assert len(nothing["confidences"]) == len(MULTI_LABELS)
    assert empty == {"label": app_module.EMPTY_TEXT, "confidences": None, "predicted": None}


def test_a_single_label_model_answers_exactly_as_before(served, app_module):
    url, _ = served
    client = Client(url, verbose=False)
    result = client.predict("i am so delighted and glad", api_name="/predict")
    assert set(result) == {"label", "confidences"}
    assert client.predict("", api_name="/predict") == {"label": app_module.EMPTY_TEXT, "confidences": None}


# --- /flag and the record --------------------------------------------------------------------------------------


def test_a_flag_with_a_set_stores_the_record_contract(served_sets, multilabel_torch):
    url, store = served_sets
    record_id = Client(url, verbose=False).predict(TEXT, ["love", "fear", "love"], "both", api_name="/flag")
    [record] = store.records()
    assert record["id"] == record_id and list(record) == list(FIELDS)
    assert (record["predicted_label"], record["corrected_label"]) == (None, None)
    assert record["predicted_labels"] == PREDICTED
    assert record["corrected_labels"] == ["fear", "love"]  # the model's label order, each once
    assert record["scores"] == pytest.approx(multilabel_torch.predict([TEXT])[0], abs=1e-6)
    assert (record["text"], record["note"], record["model"], record["model_revision"]) == (
        TEXT,
        "both",
        "tiny/multi",
        "r1",
    )
    assert record["client"].startswith("anon:")


def test_a_flag_with_no_label_checked_means_none_of_these(served_sets):
    url, store = served_sets
    Client(url, verbose=False).predict("just a plain tuesday", [], "", api_name="/flag")
    [record] = store.records()
    assert record["corrected_labels"] == [] and record["corrected_label"] is None


@pytest.mark.parametrize("junk", [["joy", "bliss"], ["x" * 5000], "joy", [1], [["joy"]], {"joy": 1}, None])
def test_a_set_with_a_label_the_model_lacks_is_refused_and_nothing_is_stored(served_sets, junk, caplog):
    url, store = served_sets
    with caplog.at_level(logging.WARNING, logger="app"), pytest.raises(AppError, match="Check the correct labels"):
        Client(url, verbose=False).predict(TEXT, junk, "", api_name="/flag")
    assert store.records() == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "app"]
    assert line.startswith("flag refused: corrected labels:") and len(line) < 120  # one short line


def test_a_single_label_model_still_refuses_a_set(served):
    url, store = served
    with pytest.raises(AppError, match="Pick the correct label"):
        Client(url, verbose=False).predict("i feel happy", ["joy"], "", api_name="/flag")
    assert store.records() == []


# --- Reading and exporting records ----------------------------------------------------------------------------


def set_record(text: str, corrected: list[str], **overrides) -> dict:
    fields = {
        "text": text,
        "scores": {"anger": 0.6, "joy": 0.5, "fear": 0.1, "love": 0.2},
        "predicted_labels": ["anger", "joy"],
        "corrected_labels": corrected,
        "note": "",
        "model": "runs/multi",
        "model_revision": None,
        "client": "hf:ann",
    }
    return label_sets.make_set_record(**{**fields, **overrides})


def test_old_single_and_multi_label_records_are_read_together(tmp_path):
    single = flags.make_record(
        text="i am shocked",
        scores={"joy": 0.3, "surprise": 0.7},
        corrected_label="joy",
        note="",
        model="m",
        model_revision=None,
        client="hf:bob",
    )
    old = {key: value for key, value in single.items() if key != "client"} | {"id": "old-1", "text": "older"}
    multi = set_record("so mad and so glad", ["anger", "joy"])
    (tmp_path / "flags-a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (old, single, multi)))
    by_text = {r["text"]: r for r in flags.read_records(tmp_path)}
    assert by_text["older"] == old and by_text["i am shocked"] == single and by_text["so mad and so glad"] == multi
    assert "corrected_labels" not in single and "predicted_labels" not in single  # single-label records unchanged
    assert not is_set_record(single) and is_set_record(multi)
    assert is_set_record(set_record("none of these", []))


def test_the_csv_export_writes_a_set_in_one_formula_safe_cell(tmp_path):
    records = [
        set_record("=1+1 both", ["anger", "joy"]),
        set_record("none of these", []),
        set_record("odd labels", ['=HYPERLINK("x")', "joy"], predicted_labels=["@SUM(1)"]),
        flags.make_record(
            text="single",
            scores={"joy": 0.6, "fear": 0.4},
            corrected_label="fear",
            note="",
            model="m",
            model_revision=None,
            client="hf:bob",
        ),
    ]
    out = flags.export(records, tmp_path / "flags.csv")
    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == list(FIELDS) and FIELDS[-2:] == ("predicted_labels", "corrected_labels")
    both, none, odd, single = rows
    assert (both["text"], both["corrected_labels"], both["predicted_labels"]) == (
        "'=1+1 both",
        "anger;joy",
        "anger;joy",
    )
    assert (both["corrected_label"], both["predicted_label"]) == ("", "")  # how a reader tells a multi-label row
    assert (none["corrected_labels"], none["corrected_label"]) == ("", "")  # the empty set: an empty cell
    assert (odd["corrected_labels"], odd["predicted_labels"]) == ('\'=HYPERLINK("x");joy', "'@SUM(1)")
    assert (single["corrected_label"], single["corrected_labels"], single["predicted_labels"]) == ("fear", "", "")
    assert json.loads(both["scores"]) == records[0]["scores"]
    jsonl = flags.export(records, tmp_path / "flags.jsonl")
    assert [json.loads(line) for line in jsonl.read_text().splitlines()] == records  # verbatim


# --- The page and a start-up with the model's reports ----------------------------------------------------------


def test_the_header_of_a_multi_label_model_names_its_own_scores():
    reports = backend.model_reports(str(REPO_ROOT / "tests" / "fixtures" / "run_multilabel"))
    assert about.facts_line(reports) == (
        "Learnt from `mldata/` (240 training texts) · Test macro-F1 89.0%, micro-F1 90.4%, exact match 83.3% on 60 "
        "texts it never saw in training · probabilities calibrated: a label shown at 80% is right about 8 times in 10"
    )


@pytest.fixture(scope="module")
def multilabel_app(multilabel_dir, tmp_path_factory):
    """``python space/app.py`` on the exported multi-label model (int8, torch-free path) with MCP=1."""
    flag_dir = tmp_path_factory.mktemp("ml-flags")
    proc, url, output = start_app(MCP="1", MODEL=str(multilabel_dir), FLAG_DIR=str(flag_dir), BACKEND="")
    yield url, flag_dir, output
    proc.kill()
    proc.wait(timeout=30)


def test_the_app_starts_on_a_multi_label_model_and_its_page_says_what_the_bars_are(multilabel_app):
    url, _, output = multilabel_app
    assert "Traceback" not in "".join(output)
    text = page_markdown(url)
    assert "Test macro-F1 89.0%, micro-F1 90.4%, exact match 83.3%" in text
    assert "they do not add up to 100%" in text and "thresholds: anger 5.0%, fear 95.0%, joy 30.0%, love 70.0%" in text
    assert "Flag it with the right labels" in text and "the labels you picked" in text
    config = httpx.get(url + "config", timeout=10).json()
    [boxes] = [c for c in config["components"] if c["type"] == "checkboxgroup"]
    assert [choice[1] for choice in boxes["props"]["choices"]] == MULTI_LABELS
    # The one dropdown picks the class to explain; the flag's labels are the check boxes.
    assert [c["props"]["label"] for c in config["components"] if c["type"] == "dropdown"] == ["Explain the class"]


def test_the_mcp_tool_answers_the_set(multilabel_app):
    url, flag_dir, _ = multilabel_app
    [tool, _], [result] = mcp_round_trip(url, [("classify_emotion", {"text": TEXT})])
    assert "anger, fear, joy, love" in tool.description
    assert "predicted, the list of labels at or above their thresholds" in tool.description
    answer = json.loads(result.content[0].text)
    assert answer["predicted"] == PREDICTED and answer["label"] == "predicted: anger, joy"
    assert {c["label"] for c in answer["confidences"]} == set(MULTI_LABELS)
    record_id = Client(url, verbose=False).predict(TEXT, ["joy"], "", api_name="/flag")
    [record] = flags.read_records(flag_dir)
    assert (
        record["id"] == record_id and record["corrected_labels"] == ["joy"] and record["predicted_labels"] == PREDICTED
    )


@pytest.mark.parametrize(("value", "shown"), [(None, "None"), (1.5, "1.5")])
def test_a_null_or_out_of_range_threshold_stops_the_app_in_one_line(multilabel_dir, tmp_path, value, shown):
    """The one threshold rule (formats.model_config.label_thresholds) in the Space: a null threshold is not 0.5, and
    1.5 would never predict its label (issue 29)."""
    config = {"problem_type": "multi_label_classification", "id2label": {"0": "a", "1": "b"}}
    with pytest.raises(backend.ModelLoadError) as err:
        backend.thresholds_of({**config, "label_thresholds": {"a": value}}, "m")
    assert (
        str(err.value) == f"MODEL=m: config.json: label_thresholds['a'] is {shown} — expected a number between 0 and 1"
    )

    model = shutil.copytree(multilabel_dir, tmp_path / "model")
    for folder in (model, model / "onnx"):  # the ONNX backend reads the exported config.json
        saved = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        saved["label_thresholds"]["joy"] = value
        (folder / "config.json").write_text(json.dumps(saved), encoding="utf-8")
    env = {**os.environ, "MODEL": str(model), "FLAG_DIR": str(tmp_path / "flags"), "BACKEND": ""}
    result = subprocess.run(
        [sys.executable, "space/app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: MODEL={model}")
    assert result.stderr.strip().endswith(f"label_thresholds['joy'] is {shown} — expected a number between 0 and 1")
