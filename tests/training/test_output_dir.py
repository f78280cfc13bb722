"""A training run into a used output folder: refused unless told, then the folder is replaced whole, and a crash
leaves the old run as it was (issue: retraining into a used folder served the old ONNX model)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

import training.__main__ as pipeline
from formats.writing import claim_staging, discard_staging, folder_refusal, swap_in
from tests.conftest import REPO_ROOT, write_splits
from training.__main__ import main

TINY = ["--epochs", "1", "--learning-rate", "1e-2", "--batch-size", "8", "--eval-batch-size", "16"]
PER_CLASS = (8, 3, 3)


def old_run(folder):
    """A folder holding an earlier run, with the files a retrain must not leave behind."""
    (folder / "onnx").mkdir(parents=True)
    (folder / "onnx" / "model_int8.onnx").write_bytes(b"the old model")
    (folder / "config.json").write_text('{"id2label": {"0": "neutral"}}', encoding="utf-8")
    (folder / "corrections.json").write_text('{"flags_read": 1018}', encoding="utf-8")
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def contents(folder):
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def argv(tmp_path, tiny_backbone_dir, emotion_labels):
    write_splits(tmp_path / "data", emotion_labels, PER_CLASS)
    return ["--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir), "--output-dir", str(tmp_path / "run")]


def test_a_folder_holding_a_run_is_refused_in_one_line_before_any_work(tmp_path, argv, capsys):
    before = old_run(tmp_path / "run")
    assert main([*argv, *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"config error: --output-dir {tmp_path / 'run'}: holds a run already — pass --overwrite-output-dir to "
        "replace it whole, or choose another"
    )
    assert contents(tmp_path / "run") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run"]  # nothing written beside it


def test_a_folder_of_other_files_is_refused_even_with_overwrite(tmp_path, argv, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine", encoding="utf-8")
    assert main([*argv, *TINY, "--overwrite-output-dir"]) == 2
    assert "holds files that are not a training run" in capsys.readouterr().err
    assert (tmp_path / "run" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_overwrite_replaces_the_whole_run_and_the_old_files_are_gone(tmp_path, argv, emotion_labels):
    old_run(tmp_path / "run")
    assert main([*argv, *TINY, "--overwrite"]) == 0  # transformers' name, and --overwrite as its alias
    run = tmp_path / "run"
    assert not (run / "onnx").exists() and not (run / "corrections.json").exists()
    assert json.loads((run / "config.json").read_text(encoding="utf-8"))["label2id"].keys() == set(emotion_labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run"]  # no staging or replaced folder left


def test_a_crash_leaves_the_old_run_whole_and_nothing_beside_it(tmp_path, argv, monkeypatch):
    before = old_run(tmp_path / "run")

    def crash(*args, **kwargs):
        raise RuntimeError("the machine went down")

    monkeypatch.setattr(pipeline, "evaluate_splits", crash)  # after fine-tuning: the new model is half written
    with pytest.raises(RuntimeError, match="went down"):
        main([*argv, *TINY, "--overwrite-output-dir"])
    assert contents(tmp_path / "run") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run"]


def test_a_rerun_from_a_saved_config_never_overwrites_unasked(tmp_path, argv, capsys):
    old_run(tmp_path / "run")
    saved = tmp_path / "train_config.json"
    saved.write_text(
        json.dumps({"config": {"output_dir": str(tmp_path / "run"), "overwrite_output_dir": True}}), encoding="utf-8"
    )
    assert main([*argv, "--config", str(saved), *TINY]) == 2
    assert "holds a run already" in capsys.readouterr().err


def test_the_rule_for_a_folder(tmp_path):
    """New and empty folders are written; a file is not a folder; the swap puts the new folder in place."""
    option = {"overwrite": False, "replace_option": "--overwrite-output-dir"}
    assert folder_refusal(tmp_path / "new", "--output-dir", **option) is None
    (tmp_path / "empty").mkdir()
    assert folder_refusal(tmp_path / "empty", "--output-dir", **option) is None
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert folder_refusal(tmp_path / "file", "--output-dir", **option).endswith("is a file — expected a folder")
    (tmp_path / "staged").mkdir()
    (tmp_path / "staged" / "metrics.json").write_text("{}", encoding="utf-8")
    old_run(tmp_path / "run")
    swap_in(tmp_path / "staged", tmp_path / "run")
    assert contents(tmp_path / "run") == {(tmp_path / "run" / "metrics.json").relative_to(tmp_path / "run"): b"{}"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "run"]


def test_a_run_killed_with_sigkill_leaves_a_staging_folder_the_next_run_removes(tmp_path, argv, capsys):
    """kill -9 gives a run no chance to clean up: its staging folder stays until the next run of the same folder,
    which finds its lock free (the kernel dropped it with the process) and removes it."""
    killed = subprocess.Popen([sys.executable, "-m", "training", *argv, "--epochs", "50", "--report-to", "none"])
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".run.incoming-*/checkpoints")) and time.monotonic() < deadline:
        time.sleep(0.2)  # until it trains
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    (abandoned,) = [path for path in tmp_path.glob(".run.incoming-*") if path.is_dir()]
    assert main([*argv, *TINY]) == 0
    assert f"removed {abandoned}" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run"]


def test_a_run_stopped_with_sigterm_removes_its_staging_folder_at_once(tmp_path, argv):
    """kill (a scheduler's time limit, docker stop) ends a run as Ctrl-C does: its unfinished output goes with it."""
    stopped = subprocess.Popen([sys.executable, "-m", "training", *argv, "--epochs", "50", "--report-to", "none"])
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".run.incoming-*/checkpoints")) and time.monotonic() < deadline:
        time.sleep(0.2)  # until it trains
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=60) == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no staging folder, no lock file, no run


def test_a_live_run_s_staging_folder_is_never_removed(tmp_path):
    live = tmp_path / ".run.incoming-live"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from formats.writing import claim_staging; claim_staging({str(live)!r}); input()"],
        stdin=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    deadline = time.monotonic() + 30
    while not live.is_dir() and time.monotonic() < deadline:
        time.sleep(0.05)
    mine = tmp_path / ".run.incoming-mine"
    assert claim_staging(mine) == [] and live.is_dir() and mine.is_dir()
    holder.stdin.close()
    holder.wait()
    discard_staging(mine)
    assert claim_staging(tmp_path / ".run.incoming-next") == [live] and not live.exists()
