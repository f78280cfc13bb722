"""python -m training.predict in one process: labels against PyTorch, output layout, metrics, user errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DistilBertConfig, DistilBertModel

from tests.conftest import make_texts, write_tiny_tokenizer
from training.predict.__main__ import main
from training.quality.evaluate import classification_metrics

LONG = " ".join(["happy"] * 100)  # over the tiny model's 64 tokens


@pytest.fixture(scope="module")
def rows(emotion_labels):
    """300 fixture tweets with gold labels (other seeds than the ones the model was fitted on)."""
    return make_texts(emotion_labels, 50, seed=7)


def write_txt(path, rows, labelled=True):
    path.write_text("".join(f"{t};{lab}\n" if labelled else f"{t}\n" for t, lab in rows), encoding="utf-8")
    return path


def predict(model, source, out, *extra) -> int:
    return main([str(model), str(source), "--output", str(out), "--no-progress", *extra])


def pytorch_predictions(model_dir, texts):
    """What the PyTorch model itself predicts: ids and probabilities, all texts in one padded batch."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with torch.inference_mode():
        logits = model(**tokenizer(texts, padding=True, truncation=True, return_tensors="pt")).logits
    probs = logits.softmax(-1).numpy()
    return probs.argmax(axis=1), probs


@pytest.mark.parametrize("backend", ["onnx-fp32", "torch"])
def test_fp32_labels_are_the_pytorch_models(trained_tiny_dir, rows, tmp_path, backend, emotion_labels):
    texts = [t for t, _ in rows] + [LONG, "i", "scared!!"]
    source = write_txt(tmp_path / "in.txt", [(t, "") for t in texts], labelled=False)
    assert predict(trained_tiny_dir, source, tmp_path / "out.parquet", "--backend", backend, "--batch-size", "7") == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    ids, probs = pytorch_predictions(trained_tiny_dir, texts)
    assert out["label"].tolist() == [emotion_labels[i] for i in ids]
    np.testing.assert_allclose(out[[f"prob_{c}" for c in emotion_labels]].to_numpy(), probs, atol=1e-5)


def test_int8_agrees_with_pytorch_on_99_percent(trained_tiny_dir, rows, tmp_path, emotion_labels):
    texts = [t for t, _ in rows]
    ids, probs = pytorch_predictions(trained_tiny_dir, texts)
    # Meaningful only for a confident model: a random one's near-ties would flip under any rounding.
    assert np.median(probs.max(axis=1)) > 0.8
    source = write_txt(tmp_path / "in.txt", rows, labelled=False)
    assert predict(trained_tiny_dir, source, tmp_path / "out.parquet") == 0  # auto on CPU: int8
    out = pd.read_parquet(tmp_path / "out.parquet")
    agreement = np.mean(out["label"].to_numpy() == np.array([emotion_labels[i] for i in ids]))
    assert agreement >= 0.99


def test_output_layout_is_the_same_in_every_format(trained_tiny_dir, rows, tmp_path, emotion_labels):
    source = write_txt(tmp_path / "in.txt", rows[:40], labelled=False)
    for ext in ("parquet", "csv", "jsonl"):
        assert predict(trained_tiny_dir, source, tmp_path / f"out.{ext}", "--keep-text", "--shard-size", "15") == 0
    parquet = pd.read_parquet(tmp_path / "out.parquet")
    probs = [f"prob_{c}" for c in emotion_labels]
    assert list(parquet.columns) == ["id", "label", "score", *probs, "text"]
    assert parquet["id"].tolist() == list(range(40))  # the row number: one row per input row, in order
    assert parquet["text"].tolist() == [t for t, _ in rows[:40]]
    assert (parquet["score"] == parquet[probs].max(axis=1)).all()
    np.testing.assert_allclose(parquet[probs].sum(axis=1), 1, atol=1e-5)
    for other in (pd.read_csv(tmp_path / "out.csv"), pd.read_json(tmp_path / "out.jsonl", lines=True)):
        assert other["label"].tolist() == parquet["label"].tolist()
        np.testing.assert_allclose(other[probs], parquet[probs], atol=1e-6)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 3  # one per shard of 15 rows
    assert not (tmp_path / "out.parquet.parts").exists()


def test_empty_texts_keep_their_row_and_long_ones_are_counted(trained_tiny_dir, tmp_path, capsys):
    records = [{"tid": "a1", "text": "so happy"}, {"tid": "b2", "text": "  "}, {"tid": "c3", "text": LONG}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert predict(trained_tiny_dir, tmp_path / "in.jsonl", tmp_path / "out.csv", "--id-column", "tid") == 0
    out = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    assert out["id"].tolist() == ["a1", "b2", "c3"]
    assert out["label"].isna().tolist() == [False, True, False]
    assert out.drop(columns=["id", "label"]).iloc[1].isna().all()
    line = capsys.readouterr().out
    assert "1 empty texts (no prediction), 1 truncated to 64 tokens" in line


def test_a_text_file_keeps_blank_lines_as_empty_rows(trained_tiny_dir, tmp_path):
    (tmp_path / "in.txt").write_text("\nso happy\n\nscared; really\n", encoding="utf-8")
    assert predict(trained_tiny_dir, tmp_path / "in.txt", tmp_path / "out.parquet", "--no-labels") == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["id"].tolist() == [0, 1, 2, 3]  # row i is line i + 1
    assert out["label"].isna().tolist() == [True, False, True, False]


def test_labelled_input_writes_metrics_like_an_eval_entry(trained_tiny_dir, rows, tmp_path, capsys, emotion_labels):
    records = [{"text": t, "label": lab} for t, lab in rows] + [{"text": "", "label": "joy"}]
    pd.DataFrame(records).to_parquet(tmp_path / "gold.parquet")
    out = tmp_path / "labels.parquet"
    assert (
        predict(trained_tiny_dir, tmp_path / "gold.parquet", out, "--backend", "onnx-fp32", "--shard-size", "70") == 0
    )
    metrics = json.loads((tmp_path / "predict_metrics.json").read_text())
    predicted = pd.read_parquet(out)["label"].tolist()[:-1]
    expected = classification_metrics(
        [emotion_labels.index(lab) for _, lab in rows], [emotion_labels.index(p) for p in predicted], emotion_labels
    )
    assert {key: metrics[key] for key in expected} == expected  # the same keys and values as metrics.json's eval
    assert metrics["rows"] == 301 and metrics["empty"] == 1
    assert metrics["summary"] in capsys.readouterr().out
    assert re.search(r"accuracy \d+\.\d\d%, macro F1 \d+\.\d\d% on 300 labelled texts", metrics["summary"])


def test_a_label_that_is_not_a_class_is_a_clear_error(trained_tiny_dir, tmp_path, capsys):
    (tmp_path / "in.csv").write_text("text,label\nso happy,joy\nhm,happy\n", encoding="utf-8")
    assert predict(trained_tiny_dir, tmp_path / "in.csv", tmp_path / "out.parquet") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("data error: ") and "in.csv line 3: label 'happy' is not a class of the model" in err
    assert "\n" not in err and not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", r"empty.txt: no rows — expected one text per line"),
        ("empty.csv", b"text,label\n", r"empty.csv: no rows — expected a header naming the columns"),
        (
            "cols.csv",
            b"tweet,label\nhi,joy\n",
            r"cols.csv: no column 'text' \(columns: tweet, label\) — set --text-column",
        ),
        ("latin.txt", b"fine\ncaf\xe9\n", r"latin.txt line 2: not UTF-8 \(byte 0xe9\)"),
        ("mixed.txt", b"so happy;joy\nno label here\n", r"mixed.txt line 2: no ';' separator .* pass --no-labels"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(trained_tiny_dir, tmp_path, capsys, name, content, message):
    (tmp_path / name).write_bytes(content)
    assert predict(trained_tiny_dir, tmp_path / name, tmp_path / "out.parquet") == 2
    err = capsys.readouterr().err.strip()
    assert re.search(message, err) and "\n" not in err and "Traceback" not in err


def test_a_model_that_is_not_a_classifier_is_a_clear_error(tmp_path, capsys):
    base = tmp_path / "base"
    tokenizer = write_tiny_tokenizer(base)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, hidden_dim=64, n_layers=1, n_heads=2)
    DistilBertModel(config).save_pretrained(base)
    (tmp_path / "in.txt").write_text("so happy\n", encoding="utf-8")
    capsys.readouterr()  # save_pretrained's progress bar
    assert predict(base, tmp_path / "in.txt", tmp_path / "out.parquet") == 2
    err = capsys.readouterr().err.strip()
    assert "not a text classifier (architectures: DistilBertModel)" in err and "\n" not in err


def test_output_errors(trained_tiny_dir, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("so happy\n", encoding="utf-8")
    assert predict(trained_tiny_dir, tmp_path / "in.txt", tmp_path / "out.xlsx") == 2
    assert "unsupported extension '.xlsx' — expected .parquet, .csv, .jsonl" in capsys.readouterr().err
    (tmp_path / "out.csv").write_text("mine\n")
    assert predict(trained_tiny_dir, tmp_path / "in.txt", tmp_path / "out.csv") == 2
    assert (
        "out.csv: already exists — pass --overwrite to replace it, or choose another --output"
        in capsys.readouterr().err
    )
    assert (tmp_path / "out.csv").read_text() == "mine\n"
    assert predict(trained_tiny_dir, tmp_path / "in.txt", tmp_path / "out.csv", "--overwrite") == 0


def test_globs_and_folders_are_read_in_name_order(trained_tiny_dir, rows, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_txt(folder / "b.txt", rows[10:20], labelled=False)
    write_txt(folder / "a.txt", rows[:10], labelled=False)
    assert predict(trained_tiny_dir, folder, tmp_path / "dir.parquet", "--keep-text") == 0
    assert predict(trained_tiny_dir, f"{folder}/*.txt", tmp_path / "glob.parquet", "--keep-text") == 0
    for out in ("dir.parquet", "glob.parquet"):
        assert pd.read_parquet(tmp_path / out)["text"].tolist() == [t for t, _ in rows[:20]]


def test_progress_bar_shows_texts_per_second_and_eta(trained_tiny_dir, rows, tmp_path, capsys):
    source = write_txt(tmp_path / "in.txt", rows[:30], labelled=False)
    assert (
        main([str(trained_tiny_dir), str(source), "--output", str(tmp_path / "o.parquet"), "--shard-size", "10"]) == 0
    )
    err = capsys.readouterr().err
    assert re.search(r"predict: +100%.*\| 30/30 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+ texts/s\]", err), err


def test_a_hub_model_id_and_a_hub_dataset_split(trained_tiny_dir, rows, tmp_path, hub_server, monkeypatch):
    import datasets

    # datasets reads its offline switch and endpoint at import time (the suite imports it offline).
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", hub_server.endpoint)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    files = {str(p.relative_to(trained_tiny_dir)): p.read_bytes() for p in trained_tiny_dir.rglob("*") if p.is_file()}
    hub_server.create_repo("tester/tiny-emotion", "model", files=files)
    table = pd.DataFrame({"text": [t for t, _ in rows[:30]], "label": [lab for _, lab in rows[:30]]})
    table.to_parquet(tmp_path / "local.parquet")
    data = {"data/test-00000-of-00001.parquet": (tmp_path / "local.parquet").read_bytes()}
    hub_server.create_repo("tester/tweets", "dataset", files=data)
    assert predict(trained_tiny_dir, tmp_path / "local.parquet", tmp_path / "local.csv") == 0
    assert predict("tester/tiny-emotion", "tester/tweets", tmp_path / "hub.csv", "--split", "test") == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "hub.csv"), pd.read_csv(tmp_path / "local.csv"))
    assert json.loads((tmp_path / "predict_metrics.json").read_text())["rows"] == 30


@pytest.mark.parametrize(
    ("alias", "backend"), [("pytorch", "torch"), ("onnx_int8", "onnx-int8"), ("onnx_fp32", "onnx-fp32")]
)
def test_earlier_backend_spellings_run_the_same_backend(trained_tiny_dir, rows, tmp_path, alias, backend):
    source = write_txt(tmp_path / "in.txt", rows[:20], labelled=False)
    assert predict(trained_tiny_dir, source, tmp_path / "new.csv", "--backend", backend) == 0
    assert predict(trained_tiny_dir, source, tmp_path / "old.csv", "--backend", alias) == 0
    assert (tmp_path / "old.csv").read_bytes() == (tmp_path / "new.csv").read_bytes()


def test_unknown_backend_names_the_choices(trained_tiny_dir, tmp_path, capsys):
    source = write_txt(tmp_path / "in.txt", [("a text", "")], labelled=False)
    with pytest.raises(SystemExit) as exit_info:
        predict(trained_tiny_dir, source, tmp_path / "out.csv", "--backend", "onnx")
    assert exit_info.value.code == 2
    assert "auto,onnx-fp32,onnx-int8,torch" in capsys.readouterr().err


def test_the_parquet_merge_copies_every_row_group_in_order(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from training.predict.parts import concatenate

    tables = [pa.table({"id": list(range(k * 10, k * 10 + 10)), "label": [f"c{k}"] * 10}) for k in range(3)]
    files = [tmp_path / f"part-{k}.parquet" for k in range(3)]
    for table, file in zip(tables, files, strict=True):
        pq.write_table(table, file, row_group_size=table.num_rows)
    pq.write_table(tables[1], files[1], row_group_size=4)  # a shard of 3 row groups: each one is copied
    concatenate(files, tmp_path / "out.parquet", ".parquet")
    merged = pq.ParquetFile(tmp_path / "out.parquet")
    assert merged.read().equals(pa.concat_tables(tables))
    assert [merged.metadata.row_group(g).num_rows for g in range(merged.num_row_groups)] == [10, 4, 4, 2, 10]


def test_json_files_are_training_outputs_bytes_and_resume_reads_them(tmp_path):
    from formats.output_folder import write_json
    from training.predict.parts import MANIFEST, Parts

    parts = Parts(tmp_path / "out.parquet")
    command = {"model": "runs/émotion", "shard_size": 5}  # non-ASCII kept as written, as before
    parts.start(command, overwrite=False)
    write_json(tmp_path / "expected.json", {"command": command})
    written = (parts.folder / MANIFEST).read_bytes()
    assert written == (tmp_path / "expected.json").read_bytes()
    assert written == (json.dumps({"command": command}, indent=2, ensure_ascii=False) + "\n").encode()  # old bytes
    Parts(tmp_path / "out.parquet").start(command, overwrite=False)  # the same command resumes
    assert sorted(p.name for p in parts.folder.iterdir()) == [MANIFEST]  # no temporary file left
