"""`torchrun --standalone --nproc_per_node 2 -m training` on CPU (gloo): two processes, one job.

One real run, shared by the checks: a tiny DistilBERT, data from a URL served on 127.0.0.1 (so both
processes go through the download), a data-loader worker per loader, and each
process recording the files it opens for writing (tests/training/record_writes.py).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from formats.output_folder import DYNAMICS_FILE, TRACES_DIR, TRACES_PATTERN
from tests.conftest import REPO_ROOT, make_texts
from tests.file_server import serve_folder
from tests.training.test_pipeline import CONTRACT_FILES
from training.data.load import load_data
from training.quality.evaluate import classification_metrics
from training.train import steps_per_epoch

EPOCHS = 3
BATCH = 8
# The contract files written from Python (model.safetensors and tokenizer.json are written by Rust code,
# in the same save_pretrained call as config.json and tokenizer_config.json); no training dynamics: each process
# sees its own share of the batches, so a job of several records none (training.quality.dynamics).
RECORDED_FILES = set(CONTRACT_FILES) - {"model.safetensors", "tokenizer.json", DYNAMICS_FILE}


@pytest.fixture(scope="module")
def served(tmp_path_factory, emotion_labels):
    """One `text;label` file (split 80/10/10 by the run) served over HTTP on 127.0.0.1: (path, URL)."""
    root = tmp_path_factory.mktemp("served")
    lines = [f"{text};{label}\n" for text, label in make_texts(emotion_labels, 20, seed=4)]
    (root / "tweets.txt").write_text("".join(lines), encoding="utf-8")
    with serve_folder(root) as base_url:
        yield root / "tweets.txt", f"{base_url}/tweets.txt"


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_backbone_dir, served):
    root = tmp_path_factory.mktemp("torchrun")
    out, records, home = root / "out", root / "writes", root / "home"
    records.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),  # an empty download cache: both processes meet the URL for the first time
        "RECORD_WRITES_DIR": str(records),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("TOKENIZERS_PARALLELISM", None)  # the fork warning must be silenced by the run itself
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"),
        *("-m", "tests.training.record_writes", "--data", served[1], "--model", str(tiny_backbone_dir)),
        *("--output-dir", str(out), "--epochs", str(EPOCHS), "--batch-size", str(BATCH)),
        *("--learning-rate", "5e-3", "--eval-batch-size", "4", "--dataloader-num-workers", "1"),
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    writes = {rank: (records / f"rank-{rank}.txt").read_text(encoding="utf-8").splitlines() for rank in (0, 1)}
    return out, result, writes, home


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_two_processes_train_as_one_job(run):
    out, result, _, _ = run
    training = read_json(out / "metrics.json")["training"]
    train_size = read_json(out / "metrics.json")["data"]["sizes"]["train"]
    assert training["processes"] == 2
    # each process takes half of every epoch's batches (one process would take them all)
    assert training["steps"] == EPOCHS * steps_per_epoch(train_size, BATCH, replicas=2)
    assert training["steps"] == EPOCHS * -(-steps_per_epoch(train_size, BATCH) // 2)
    assert "parallel_mode != ParallelMode.DISTRIBUTED" not in result.stderr
    # one set of prints: the options and the summary come from the main process only
    assert result.stdout.count("Resolved options") == 1 and result.stdout.count("trained in") == 1


def in_run(path: str, out: Path) -> Path | None:
    """``path`` relative to the run's folder — the hidden sibling it is written in, swapped in at the end — or None."""
    path = Path(path)
    staged = [base for base in path.parents if base.parent == out.parent and base.name.startswith(f".{out.name}.")]
    return path.relative_to(staged[0]) if staged else None


def test_every_output_file_is_written_once_by_the_main_process(run):
    out, _, writes, home = run
    outputs = [found for path in writes[0] if (found := in_run(path, out)) is not None]
    final = [path.as_posix() for path in outputs if not {"checkpoints", TRACES_DIR} & set(path.parts)]
    assert sorted(final) == sorted(RECORDED_FILES)  # each once
    # the TensorBoard traces (--report-to's default): one event file (opened at each flush), by the main process
    traces = sorted({path for path in outputs if path.parts[0] == TRACES_DIR})
    assert len(traces) == 1 and fnmatch(traces[0].name, TRACES_PATTERN) and (out / traces[0]).is_file()
    assert [p for p in writes[1] if fnmatch(Path(p).name, TRACES_PATTERN)] == []  # nowhere, by the other process
    assert {path.name for path in out.iterdir()} >= RECORDED_FILES | {"model.safetensors", "tokenizer.json"}
    assert not (out / "checkpoints").exists() and not (out / DYNAMICS_FILE).exists()
    assert not list(out.parent.glob(f".{out.name}.*"))  # the folder it was written in was swapped in
    assert read_json(out / "metrics.json")["embedding_map"]["method"] == "PCA"  # umap hidden by record_writes.py
    # the other process writes nothing in the output folder (its checkpoint RNG state aside) nor the download
    others = [found for path in writes[1] if (found := in_run(path, out)) is not None]
    assert [path for path in others if "checkpoints" not in path.parts] == []
    cache = home / ".cache" / "emotion-toolkit"
    assert [p for p in writes[1] if Path(p).is_relative_to(cache)] == []
    # the main process wrote the download to a temporary name, then renamed it
    partial = [Path(p) for p in writes[0] if Path(p).is_relative_to(cache) and Path(p).name.startswith(".tweets.txt.")]
    assert len(partial) == 1 and not partial[0].exists() and (partial[0].parent / "tweets.txt").is_file()


def test_url_data_is_read_complete_by_both_processes(run, served):
    """Both processes checked that they hold the same splits (the run stops otherwise); they are all of it."""
    out, _, _, _ = run
    saved = read_json(out / "train_config.json")["data"]
    expected = load_data(str(served[0]))
    assert saved["sizes"] == expected.sizes() and sum(saved["sizes"].values()) == 120


def test_every_epoch_has_a_train_loss(run):
    out, _, _, _ = run
    log = read_json(out / "metrics.json")["training"]["log"]
    assert [entry["epoch"] for entry in log] == [1.0, 2.0, 3.0]
    assert all("train_loss" in entry for entry in log)


def saved_model_logits(out: Path, texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model, tokenizer = AutoModelForSequenceClassification.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(**tokenizer([text], return_tensors="pt")).logits.numpy() for text in texts])


def cross_entropy(logits: np.ndarray, labels) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


def test_saved_model_is_the_best_epoch_and_made_every_prediction(run, served):
    out, _, _, _ = run
    metrics = read_json(out / "metrics.json")
    data = load_data(str(served[0]))
    validation = data.splits["validation"]
    logits = saved_model_logits(out, list(validation["text"]))
    scores = classification_metrics(list(validation["label"]), logits.argmax(-1), data.labels)
    loss = float(cross_entropy(logits, list(validation["label"])).mean())
    best = max(metrics["training"]["log"], key=lambda entry: entry["eval_f1_macro"])  # first of equals
    assert scores["f1_macro"] == pytest.approx(best["eval_f1_macro"])
    assert loss == pytest.approx(best["eval_loss"], abs=1e-5)  # also the loss of one process's share: not x2
    assert metrics["eval"]["validation"]["f1_macro"] == pytest.approx(best["eval_f1_macro"])

    # errors.csv: exactly one row per test example, each predicted by the saved model (both processes' shares)
    test = data.splits["test"]
    with open(out / "errors.csv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda row: int(row["index"]))
    assert [int(row["index"]) for row in rows] == list(range(len(test)))
    expected = cross_entropy(saved_model_logits(out, list(test["text"])), list(test["label"]))
    assert [float(row["loss"]) for row in rows] == pytest.approx(expected.tolist(), abs=1e-5)
