"""python -m training.predict across processes: a real kill -9 and resume, and torchrun with two ranks (gloo, CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, make_texts
from training.predict.__main__ import main

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, emotion_labels):
    """3,000 fixture tweets, one per line, and the output of one uninterrupted single-process run."""
    folder = tmp_path_factory.mktemp("corpus")
    source = folder / "tweets.txt"
    source.write_text("".join(f"{t}\n" for t, _ in make_texts(emotion_labels, 500, seed=5)), encoding="utf-8")
    return source


def command(model, source, out, *extra) -> list[str]:
    return [str(model), str(source), "--output", str(out), "--no-progress", "--threads", "1", *extra]


def reference(model, source, out, *extra) -> pd.DataFrame:
    assert main(command(model, source, out, *extra)) == 0
    return pd.read_parquet(out)


def test_a_killed_run_resumes_from_its_last_complete_shard(trained_tiny_dir, corpus, tmp_path, capsys):
    out = tmp_path / "labels.parquet"
    args = command(trained_tiny_dir, corpus, out, "--shard-size", "100")
    process = subprocess.Popen([sys.executable, "-m", "training.predict", *args], env=ENV, cwd=REPO_ROOT)
    parts = tmp_path / "labels.parquet.parts"
    deadline = time.monotonic() + 300
    while len(list(parts.glob("part-*.json"))) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = len(list(parts.glob("part-*.json")))
    assert 3 <= done < 30 and not out.exists()  # killed mid-run: no output file that could pass for finished

    # Another command may not adopt these parts.
    assert main(command(trained_tiny_dir, corpus, out, "--shard-size", "100", "--keep-text")) == 2
    assert "holds parts of another command (keep_text differ)" in capsys.readouterr().err

    assert main(args) == 0  # the same command again: continues
    summary = capsys.readouterr().out
    resumed = int(summary.split(" in this run")[0].rsplit("(", 1)[1].replace(",", ""))
    assert resumed <= 3000 - 100 * done  # the shards done before the kill were not labelled again
    result = pd.read_parquet(out)
    assert result["id"].tolist() == list(range(3000))  # every row exactly once, in order
    # The same shards, so the same batches: int8 quantizes activations per batch, so batches must match too.
    one = reference(trained_tiny_dir, corpus, tmp_path / "one.parquet", "--shard-size", "100")
    pd.testing.assert_frame_equal(result, one)
    assert not parts.exists()


def test_torchrun_two_ranks_match_one_process_row_for_row(trained_tiny_dir, corpus, tmp_path):
    out = tmp_path / "ranks.csv"
    extra = ("--shard-size", "250", "--keep-text")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = subprocess.run(
        [*torchrun, "-m", "training.predict", *command(trained_tiny_dir, corpus, out, *extra)],
        env=ENV,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote ") == 1  # the main process alone writes the output and says so
    # The summary is the job's: the rows of both ranks, and their speed together.
    assert "labelled 3,000 rows with " in result.stdout and "(3,000 in this run on 2 processes: " in result.stdout
    assert main(command(trained_tiny_dir, corpus, tmp_path / "one.csv", *extra)) == 0
    one = pd.read_csv(tmp_path / "one.csv")
    assert len(one) == 3000
    pd.testing.assert_frame_equal(pd.read_csv(out), one)
    assert out.read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_a_second_run_on_the_same_output_is_refused_while_the_first_goes_on(trained_tiny_dir, corpus, tmp_path, capsys):
    out = tmp_path / "labels.parquet"
    args = command(trained_tiny_dir, corpus, out, "--shard-size", "100")
    first = subprocess.Popen([sys.executable, "-m", "training.predict", *args], env=ENV, cwd=REPO_ROOT)
    parts, lock = tmp_path / "labels.parquet.parts", tmp_path / "labels.parquet.lock"
    deadline = time.monotonic() + 300
    while not list(parts.glob("part-*.json")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before the second started"
    assert lock.is_file() and f'"pid": {first.pid}' in lock.read_text()
    assert main([*args, "--overwrite"]) == 2  # not even with --overwrite
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"predict error: --output {out}: another run is writing it (pid {first.pid} on this host")
    assert "\n" not in err and "Traceback" not in err
    assert first.wait(timeout=600) == 0
    assert len(pd.read_parquet(out)) == 3000 and not lock.exists() and not parts.exists()
