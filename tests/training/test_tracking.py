"""--report-to: Trainer's integrations reached from our options, checked before anything slow happens."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

from formats.output_folder import TRACES_DIR
from tests.conftest import REPO_ROOT, write_splits
from training.__main__ import main
from training.config import TrainConfig, parse_config
from training.option_checks import INTEGRATIONS, report_targets
from training.traces import TracesCallback, training_callbacks
from training.train import Hardware, training_options

CPU = Hardware("cpu", "x86_64", "fp32")


def test_every_integration_we_accept_is_one_of_trainers():
    assert set(INTEGRATIONS) <= set(INTEGRATION_TO_CALLBACK)


@pytest.mark.parametrize(
    ("report_to", "targets", "trainer_report_to", "traces"),
    [
        ("tensorboard", ["tensorboard"], "none", True),  # our callback writes the traces, not Trainer's
        ("none", [], "none", False),
        ("tensorboard, trackio", ["tensorboard", "trackio"], ["trackio"], True),
        ("trackio", ["trackio"], ["trackio"], False),
    ],
)
def test_report_to_decides_trainers_integrations_and_the_traces(
    tmp_path, report_to, targets, trainer_report_to, traces
):
    config = TrainConfig(report_to=report_to, epochs=1)
    assert report_targets(report_to) == targets
    assert training_options(config, CPU, tmp_path / "checkpoints", train_size=100)["report_to"] == trainer_report_to
    callbacks = training_callbacks(config, tmp_path)
    assert [type(c) for c in callbacks] == ([TracesCallback] if traces else [])
    assert [c.logging_dir for c in callbacks] == ([str(tmp_path / TRACES_DIR)] if traces else [])


def test_the_default_is_tensorboard():
    config, _ = parse_config(["--epochs", "1"])
    assert config.report_to == "tensorboard"


def test_a_missing_integration_is_a_one_line_error_before_any_data_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "trackio", None)  # as if not installed: importlib finds no spec
    out = tmp_path / "out"
    code = main(["--data", str(tmp_path / "nowhere"), "--report-to", "tensorboard,trackio", "--output-dir", str(out)])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "config error: --report-to trackio: the package trackio is not installed — "
        "pip install trackio (or --report-to none)"
    )
    assert not out.exists()


@pytest.mark.parametrize("value", ["tensorbord", "none,tensorboard", ","])
def test_an_unknown_integration_is_a_one_line_error(tmp_path, capsys, value):
    assert main(["--data", str(tmp_path), "--report-to", value, "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("config error: --report-to ")
    assert "expected a comma list of tensorboard, trackio, wandb, mlflow" in err[0]


def test_report_to_none_writes_no_traces(tmp_path, tiny_backbone_dir, emotion_labels):
    write_splits(tmp_path / "data", emotion_labels, (6, 2, 2))
    out = tmp_path / "out"
    options = ["--epochs", "1", "--batch-size", "8", "--report-to", "none"]
    assert (
        main(["--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir), "--output-dir", str(out), *options])
        == 0
    )
    assert (out / "metrics.json").is_file() and not (out / TRACES_DIR).exists()


def test_trackio_runs_offline_into_a_local_database(tmp_path, tiny_backbone_dir, emotion_labels):
    """trackio with no Space: a local SQLite database (TRACKIO_DIR), read back here; no traces folder."""
    pytest.importorskip("trackio")
    write_splits(tmp_path / "data", emotion_labels, (6, 2, 2))
    out, store = tmp_path / "out", tmp_path / "trackio"
    command = [sys.executable, "-m", "training", "--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir)]
    command += ["--output-dir", str(out), "--epochs", "2", "--batch-size", "8", "--report-to", "trackio"]
    env = {**os.environ, "TRACKIO_DIR": str(store)}  # trackio reads it when imported: a process of its own
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    databases = list(store.glob("*.db"))
    assert len(databases) == 1
    with sqlite3.connect(databases[0]) as db:
        logged = [json.loads(row[0]) for row in db.execute("SELECT metrics FROM metrics ORDER BY step")]
    f1 = [entry["eval/f1_macro"] for entry in logged if "eval/f1_macro" in entry]
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["training"]["log"]
    assert f1 == pytest.approx([entry["eval_f1_macro"] for entry in saved])  # one point per epoch
    assert not (out / TRACES_DIR).exists()
