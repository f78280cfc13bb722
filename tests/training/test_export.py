"""ONNX export of a tiny fixture model: fp32 round trip, int8 model, accuracy guard, metrics, user errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from formats.output_folder import write_json
from tests.conftest import write_splits
from training.errors import ToolkitError
from training.export import export_onnx, main

TEXTS = [
    "i feel happy",
    "so scared and anxious today really about my day",
    "amazed",
    "I AM FURIOUS!!",
    "lonely 42 and the [unknown] word soup of a much longer tweet that goes on and on",
]
# What training wrote into metrics.json before the export, non-ASCII text included (labels and tweets can be).
METRICS = {"labels": ["kept"], "errors": [{"text": "café naïve — 😢", "label": "sadness"}]}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, emotion_labels):
    folder = tmp_path_factory.mktemp("data")
    write_splits(folder, emotion_labels, per_class=(8, 4, 3))
    return folder


def copy_run(source, target, data_dir):
    """A training output folder: the model plus the train_config.json and metrics.json training writes."""
    shutil.copytree(source, target)
    (target / "train_config.json").write_text(json.dumps({"config": {"data": str(data_dir), "seed": 42}}))
    write_json(target / "metrics.json", METRICS)
    return target


@pytest.fixture(scope="module")
def exported(tiny_model_dir, data_dir, tmp_path_factory):
    """The tiny DistilBERT exported with the default threshold, data found via train_config.json."""
    run = copy_run(tiny_model_dir, tmp_path_factory.mktemp("export") / "run", data_dir)
    return run, export_onnx(run)


def onnx_probabilities(path, tokenizer, texts):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    encoded = tokenizer(texts, padding=True, return_tensors="np")
    logits = session.run(None, {i.name: encoded[i.name] for i in session.get_inputs()})[0]
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def torch_probabilities(folder, texts):
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with torch.inference_mode():
        return torch.softmax(model(**tokenizer(texts, padding=True, return_tensors="pt")).logits, dim=-1).numpy()


@pytest.mark.parametrize("texts", [TEXTS[:1], TEXTS], ids=["batch1", "batch5-padded"])
def test_fp32_onnx_matches_pytorch_on_any_batch_and_length(exported, texts):
    run, _ = exported
    tokenizer = AutoTokenizer.from_pretrained(run / "onnx")  # the copy in onnx/ must work alone
    probabilities = onnx_probabilities(run / "onnx" / "model.onnx", tokenizer, texts)
    np.testing.assert_allclose(probabilities, torch_probabilities(run, texts), atol=1e-4)


def test_onnx_folder_is_self_contained_with_dynamic_axes(exported, emotion_labels):
    run, _ = exported
    config = json.loads((run / "onnx" / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(emotion_labels))] == emotion_labels
    graph = onnx.load(run / "onnx" / "model.onnx").graph
    for tensor in graph.input:
        dims = tensor.type.tensor_type.shape.dim
        assert all(d.dim_param and not d.dim_value for d in dims), f"{tensor.name} has a fixed axis"


def test_onnx_files_name_no_folder_of_this_machine(exported):
    """The exporter records a Python stack trace per node, naming site-packages; the files are published."""
    run, _ = exported
    site_packages = str(Path(torch.__file__).resolve().parent.parent)
    for name in ("model.onnx", "model_int8.onnx"):
        path = run / "onnx" / name
        assert site_packages.encode() not in path.read_bytes(), name
        assert not [p.key for node in onnx.load(path).graph.node for p in node.metadata_props if "stack" in p.key]


def test_int8_model_is_valid_quantized_and_smaller(exported, emotion_labels):
    run, _report = exported
    int8, fp32 = run / "onnx" / "model_int8.onnx", run / "onnx" / "model.onnx"
    onnx.checker.check_model(str(int8))
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= {node.op_type for node in onnx.load(int8).graph.node}
    assert int8.stat().st_size < fp32.stat().st_size
    tokenizer = AutoTokenizer.from_pretrained(run / "onnx")
    probabilities = onnx_probabilities(int8, tokenizer, TEXTS)
    assert probabilities.shape == (len(TEXTS), len(emotion_labels))
    # int8 weights perturb the logits a little, not the model: close to fp32, not equal to it.
    np.testing.assert_allclose(probabilities, torch_probabilities(run, TEXTS), atol=0.02)


def test_accepted_export_is_recorded_in_metrics(exported):
    run, report = exported
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["labels"] == ["kept"]  # the rest of metrics.json is untouched
    assert metrics["export"] == report
    assert report["int8_accepted"] is True and report["split"] == "validation"  # the card names it
    for variant in ("torch", "onnx-fp32", "onnx-int8"):
        assert 0 <= report[variant]["accuracy"] <= 1
        assert report[variant]["p50_ms"] > 0 and report[variant]["size_mb"] > 0
    # 24 validation texts: the fp32 graph predicts exactly what PyTorch predicts.
    assert report["onnx-fp32"]["accuracy"] == report["torch"]["accuracy"]
    assert report["latency"] == "p50 of 24 validation texts one at a time, tokenization included, 1 CPU thread"


def test_export_leaves_the_rest_of_metrics_json_byte_identical(exported, tmp_path):
    run, _ = exported
    before = tmp_path / "before.json"
    write_json(before, METRICS)
    # The export appends its key; every byte training wrote before it stays as it was (no re-escaping).
    opened = before.read_bytes().removesuffix(b"\n}\n") + b',\n  "export": {'
    assert (run / "metrics.json").read_bytes().startswith(opened)


def test_guard_refuses_int8_and_keeps_fp32(tiny_model_dir, data_dir, tmp_path):
    run = copy_run(tiny_model_dir, tmp_path / "run", data_dir)
    torch.set_num_threads(2)
    # -1 point: even an int8 model exactly as accurate as PyTorch is refused.
    report = export_onnx(run, max_drop_points=-1)
    assert torch.get_num_threads() == 2  # timed on 1 thread, then given back to the calling training run
    assert report["int8_accepted"] is False
    assert "refused" in report["reason"] and "model_int8.onnx removed" in report["reason"]
    assert not (run / "onnx" / "model_int8.onnx").exists()
    assert (run / "onnx" / "model.onnx").is_file()
    assert json.loads((run / "metrics.json").read_text())["export"]["int8_accepted"] is False


def test_without_train_config_the_cli_asks_for_data(tiny_model_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run)
    assert main([str(run)]) == 2
    err = capsys.readouterr().err
    assert "train_config.json not found" in err and "--data" in err and "Traceback" not in err
    assert not (run / "onnx").exists()  # failed before exporting anything


def test_bad_data_and_foreign_labels_are_user_errors(tiny_model_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run)
    with pytest.raises(ToolkitError, match="--data"):
        export_onnx(run, data=str(tmp_path / "missing.txt"))
    (tmp_path / "other").mkdir()
    for split in ("train", "validation"):
        (tmp_path / "other" / f"{split}.txt").write_text("good movie;positive\nbad movie;negative\n" * 3)
    with pytest.raises(ToolkitError, match=r"labels \['negative', 'positive'\] are not classes"):
        export_onnx(run, data=str(tmp_path / "other"))


def test_folder_without_model_is_a_user_error(tmp_path):
    with pytest.raises(ToolkitError, match=re.escape("no config.json")):
        export_onnx(tmp_path)


def test_int8_verdict_judges_micro_f1_then_whole_sets_for_a_multi_label_model():
    from training.export.guard import int8_verdict

    def report(torch_f1, int8_f1, agreement=None):
        int8 = {"f1_micro": int8_f1, **({} if agreement is None else {"set_agreement": agreement})}
        return {"torch": {"f1_micro": torch_f1}, "onnx-int8": int8}

    # The tester's model: micro F1 unchanged, 87 of 100 sets identical to PyTorch's (fp32: 100).
    kept, reason = int8_verdict(report(0.5, 0.5, 0.87), "f1_micro", 0.5, 0.95)
    assert kept is False
    assert reason == (
        "int8 model refused: only 87.0% of the validation texts get PyTorch's set (required: 95%); "
        "model_int8.onnx removed, model.onnx kept"
    )
    kept, reason = int8_verdict(report(0.5, 0.499, 0.97), "f1_micro", 0.5, 0.95)
    assert kept is True
    assert reason == (
        "int8 micro F1 drop 0.10 points <= 0.5 allowed; 97.0% of the validation texts get PyTorch's set (required: 95%)"
    )
    kept, reason = int8_verdict(report(0.5, 0.49, 1.0), "f1_micro", 0.5, 0.95)  # micro F1 first
    assert kept is False and reason.startswith("int8 model refused: micro F1 49.00% is 1.00 points below")
    single = {"torch": {"accuracy": 0.9}, "onnx-int8": {"accuracy": 0.9}}  # no sets: the accuracy guard alone
    assert int8_verdict(single, "accuracy", 0.5, 0.95) == (True, "int8 accuracy drop 0.00 points <= 0.5 allowed")


def test_a_config_json_that_is_not_json_is_one_line_and_exit_2(tiny_model_dir, tmp_path, capsys):
    """transformers raised OSError (exit 1, a traceback); train_config.json is read by the same rule (issue 29)."""
    run = shutil.copytree(tiny_model_dir, tmp_path / "run")
    (run / "config.json").write_text('{"id2label": {"0": "joy",}', encoding="utf-8")
    assert main([str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"export error: {run}/config.json: not valid JSON (Expecting property name enclosed in double quotes at "
        "line 1 column 26) — expected the JSON file python -m training wrote; restore it from the run (or the Hub repo)"
    )
    shutil.copyfile(tiny_model_dir / "config.json", run / "config.json")
    (run / "train_config.json").write_text("[]", encoding="utf-8")
    assert main([str(run)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the weights' loading bar
    assert last == f"export error: {run}/train_config.json: holds a JSON list — expected a JSON object"
    assert not (run / "onnx").exists()
