"""python -m training.predict never destroys or mixes data: inputs, the output's lock, folders, resume fingerprints,
CSV cells a spreadsheet would run, and very long texts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import make_texts
from training.predict import run
from training.predict.__main__ import main


@pytest.fixture(scope="module")
def texts(emotion_labels):
    return [t for t, _ in make_texts(emotion_labels, 5, seed=11)]


def predict(model, source, out, *extra) -> int:
    return main([str(model), str(source), "--output", str(out), "--no-progress", *extra])


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def write_lines(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_an_output_that_is_an_input_is_refused_even_with_overwrite(trained_tiny_dir, tmp_path, capsys):
    source = tmp_path / "tweets.csv"
    source.write_text("text\nso happy\nso sad\n", encoding="utf-8")
    before = source.read_bytes()
    assert predict(trained_tiny_dir, source, source, "--overwrite") == 2
    assert one_line(capsys) == (
        f"predict error: --output {source}: is one of this command's inputs — choose another --output "
        "(--overwrite never replaces an input)"
    )
    os.link(source, tmp_path / "same.csv")  # another name of the same file
    assert predict(trained_tiny_dir, tmp_path / "*.csv", tmp_path / "same.csv", "--overwrite") == 2
    assert "same.csv: is one of this command's inputs" in one_line(capsys)
    labelled = tmp_path / "gold.jsonl"
    labelled.write_text('{"text": "so happy", "label": "joy"}\n', encoding="utf-8")
    assert predict(trained_tiny_dir, labelled, tmp_path / "out.csv", "--metrics", str(labelled)) == 2
    assert f"--metrics {labelled}: is one of this command's inputs" in one_line(capsys)
    assert source.read_bytes() == before and not list(tmp_path.glob("*.parts")) and not list(tmp_path.glob("*.lock"))


def test_an_output_folder_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "labels.parquet").mkdir()
    # Neither the model nor the input exists: the folder is refused before either is looked at.
    assert predict(tmp_path / "no-model", tmp_path / "no-input.txt", tmp_path / "labels.parquet") == 2
    assert one_line(capsys) == (
        f"predict error: --output {tmp_path / 'labels.parquet'}: is a folder — expected a file name ending in "
        ".parquet, .csv, .jsonl"
    )
    (tmp_path / "metrics").mkdir()
    out = tmp_path / "out.csv"
    assert predict(tmp_path / "no-model", tmp_path / "no-input.txt", out, "--metrics", str(tmp_path / "metrics")) == 2
    assert one_line(capsys) == f"predict error: --metrics {tmp_path / 'metrics'}: is a folder — expected a file name"


def test_metrics_folders_are_created_before_any_work(trained_tiny_dir, tmp_path, capsys):
    (tmp_path / "gold.csv").write_text("text,label\nso happy,joy\ni am scared,fear\n", encoding="utf-8")
    metrics = tmp_path / "reports" / "today" / "m.json"
    assert (
        predict(trained_tiny_dir, tmp_path / "gold.csv", tmp_path / "out" / "labels.csv", "--metrics", str(metrics))
        == 0
    )
    assert json.loads(metrics.read_text())["rows"] == 2 and (tmp_path / "out" / "labels.csv").is_file()
    (tmp_path / "notes.txt").write_text("mine\n")
    blocked = tmp_path / "notes.txt" / "m.json"
    assert predict(tmp_path / "no-model", tmp_path / "gold.csv", tmp_path / "o2.csv", "--metrics", str(blocked)) == 2
    assert one_line(capsys) == (
        f"predict error: --metrics {blocked}: cannot create the folder {tmp_path / 'notes.txt'} (a file has that name) "
        "— choose a --metrics in a folder you can write"
    )


def test_a_second_run_on_a_held_output_is_refused_and_a_dead_runs_lock_is_taken_over(
    trained_tiny_dir, tmp_path, capsys
):
    source = write_lines(tmp_path / "in.txt", ["so happy", "so sad"])
    out = tmp_path / "out.csv"
    lock = tmp_path / "out.csv.lock"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock.write_text(json.dumps({"pid": other.pid, "host": socket.gethostname(), "started": "then"}))
        assert predict(trained_tiny_dir, source, out, "--overwrite") == 2
        assert one_line(capsys) == (
            f"predict error: --output {out}: another run is writing it (pid {other.pid} on this host, since then; "
            f"lock {lock}) — wait for it to end, or choose another --output"
        )
        assert lock.is_file() and not out.exists() and not (tmp_path / "out.csv.parts").exists()
    finally:
        other.kill()
        other.wait()
    assert predict(trained_tiny_dir, source, out) == 0  # its process is gone: the lock is stale
    assert f"note: {lock} was left by pid {other.pid} on this host, which is no longer running" in (
        capsys.readouterr().err
    )
    assert len(pd.read_csv(out)) == 2 and not lock.exists()  # removed at the end
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere"}))  # another host: its pid cannot be checked here
    assert predict(trained_tiny_dir, source, tmp_path / "out.csv", "--overwrite") == 2
    assert one_line(capsys).endswith(f"or choose another --output; if that run is gone, delete {lock}")


def crash_after_first_shard(monkeypatch):
    """Make the next run fail like a crash once shard 0 is done (its parts stay)."""
    label_shard = run.label_shard

    def crashing(engine, parts, shard, *args):
        if shard > 0:
            raise RuntimeError("crash")
        label_shard(engine, parts, shard, *args)

    monkeypatch.setattr(run, "label_shard", crashing)


def test_resume_refuses_an_input_edited_in_place_with_the_same_size_and_time(
    trained_tiny_dir, texts, tmp_path, capsys, monkeypatch
):
    source = write_lines(tmp_path / "in.txt", texts[:20])
    out = tmp_path / "out.parquet"
    args = ("--shard-size", "10", "--keep-text")
    crash_after_first_shard(monkeypatch)
    with pytest.raises(RuntimeError):
        predict(trained_tiny_dir, source, out, *args)
    monkeypatch.undo()
    stat = source.stat()
    edited = list(texts[:20])
    edited[3] = texts[3][::-1]  # the same characters: the same size
    assert edited[3] != texts[3]
    write_lines(source, edited)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source.stat().st_size == stat.st_size and source.stat().st_mtime_ns == stat.st_mtime_ns
    assert predict(trained_tiny_dir, source, out, *args) == 2
    assert one_line(capsys) == (
        f"predict error: {tmp_path / 'out.parquet.parts'} holds parts written before the input {source} changed "
        "(its content differs) — resuming would mix old and new rows; pass --overwrite to start over"
    )
    assert predict(trained_tiny_dir, source, out, *args, "--overwrite") == 0  # starts over
    assert pd.read_parquet(out)["text"].tolist() == edited


def test_resume_refuses_parts_of_other_weights_in_the_same_folder(
    trained_tiny_dir, texts, tmp_path, capsys, monkeypatch
):
    import torch
    from transformers import AutoModelForSequenceClassification

    model_dir = tmp_path / "model"
    shutil.copytree(trained_tiny_dir, model_dir)
    source = write_lines(tmp_path / "in.txt", texts[:20])
    out = tmp_path / "out.parquet"
    args = ("--shard-size", "10", "--backend", "torch")
    crash_after_first_shard(monkeypatch)
    with pytest.raises(RuntimeError):
        predict(model_dir, source, out, *args)
    monkeypatch.undo()
    weights = model_dir / "model.safetensors"
    stat = weights.stat()
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)  # "retrained" into the same folder
    with torch.no_grad():
        model.classifier.bias.add_(0.5)
    model.save_pretrained(model_dir)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights.stat().st_size == stat.st_size
    capsys.readouterr()
    assert predict(model_dir, source, out, *args) == 2
    err = capsys.readouterr().err  # transformers' "Loading weights" bar, then the one line
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        f"predict error: {tmp_path / 'out.parquet.parts'} holds parts written before the model's weights "
        "model/model.safetensors changed (their sha256 differs) — resuming would mix old and new rows; "
        "pass --overwrite to start over"
    )
    assert predict(model_dir, source, out, *args, "--overwrite") == 0
    assert len(pd.read_parquet(out)) == 20


def test_csv_output_neutralises_formulas_and_parquet_and_jsonl_keep_them(trained_tiny_dir, tmp_path):
    texts = ['=HYPERLINK("http://x","click")', "+1 so happy", "-_- sad", "@me scared", "'=already", "so happy"]
    ids = ["=1+1", "-3", "@x", "\tq", "'-2", "ok"]
    records = [{"tid": i, "text": t} for i, t in zip(ids, texts, strict=True)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for ext in ("csv", "parquet", "jsonl"):
        out = tmp_path / f"out.{ext}"
        assert predict(trained_tiny_dir, tmp_path / "in.jsonl", out, "--keep-text", "--id-column", "tid") == 0
    csv = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert csv["text"].tolist() == [
        "'" + texts[0],
        "'+1 so happy",
        "'-_- sad",
        "'@me scared",
        "''=already",  # one more apostrophe: taking exactly one off gives the text back
        "so happy",
    ]
    assert csv["id"].tolist() == ["'=1+1", "'-3", "'@x", "'\tq", "''-2", "ok"]
    for exact in (
        pd.read_parquet(tmp_path / "out.parquet"),
        pd.read_json(tmp_path / "out.jsonl", lines=True, dtype=False),
    ):
        assert exact["text"].tolist() == texts and exact["id"].astype(str).tolist() == ids


def test_a_200000_character_csv_field_labels_fine(trained_tiny_dir, tmp_path):
    long = ("so happy " * 25_000)[:200_000]
    (tmp_path / "in.csv").write_text(f'text\n"{long}"\nso sad\n', encoding="utf-8")
    assert predict(trained_tiny_dir, tmp_path / "in.csv", tmp_path / "out.parquet", "--keep-text") == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["text"].str.len().tolist() == [len(long.strip()), 6] and out["label"].notna().all()
