"""The flag store: durable under concurrency and `kill -9`, exact export round trips, CLI, Hub sync wiring."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading

import flags
import flags_cli
import pytest

from formats.flag_record import FIELDS
from tests.conftest import REPO_ROOT
from tests.space.flag_writer import SCORES, expected_record, make_flag
from training.corrections.records import load_flag_records

WRITER = [sys.executable, "-m", "tests.space.flag_writer"]


def record(text: str, **overrides) -> dict:
    fields = {
        "text": text,
        "scores": {"joy": 0.6, "fear": 0.4},
        "corrected_label": "fear",
        "note": "",
        "model": "runs/demo",
        "model_revision": None,
        "client": "hf:alice",
    }
    return flags.make_record(**{**fields, **overrides})


def without_id_and_time(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("id", "time")}


def test_make_record_has_the_design_fields_and_takes_the_top_score_as_prediction():
    rec = record("i am shocked", scores={"joy": 0.2, "surprise": 0.7, "fear": 0.1}, corrected_label="fear")
    assert list(rec) == list(FIELDS[: FIELDS.index("predicted_labels")])  # the multi-label fields: none
    assert rec["predicted_label"] == "surprise"
    assert rec["time"].endswith("Z") and rec["time"][:4].isdigit()
    assert rec["id"] != record("i am shocked")["id"]


def test_append_then_read_back_exactly_verbatim_text(tmp_path):
    store = flags.FlagStore(tmp_path)
    texts = ['<script>alert("x")</script>', 'two\nlines; and "quotes"', "émoji 😀 \u2028 sep", "   padded  "]
    written = [record(t, note="<img src=x onerror=alert(1)>") for t in texts]
    ids = [store.append(r) for r in written]
    assert ids == [r["id"] for r in written]
    assert sorted(store.records(), key=lambda r: texts.index(r["text"])) == written
    # One line per flag in this process's single file.
    assert [p.name for p in tmp_path.iterdir()] == [store.path.name]
    assert store.path.read_bytes().count(b"\n") == len(texts)


def test_reader_ignores_only_an_unterminated_last_line(tmp_path):
    store = flags.FlagStore(tmp_path)
    kept = [store.append(record(f"t{i}")) for i in range(3)]
    line = json.dumps(record("cut off")).encode()
    with open(store.path, "ab") as f:
        f.write(line[: len(line) // 2])  # a write cut off by a crash: never confirmed to the user
    assert [r["id"] for r in flags.read_records(tmp_path)] == kept


def test_reader_rejects_a_corrupted_complete_line_naming_file_and_line(tmp_path):
    store = flags.FlagStore(tmp_path)
    store.append(record("ok"))
    with open(store.path, "ab") as f:
        f.write(b'{"id": "half\n')
    with pytest.raises(flags.FlagStoreError, match=rf"{store.path.name} line 2: not valid JSON"):
        flags.read_records(tmp_path)
    store.path.write_text('{"id": "x"}\n')
    with pytest.raises(flags.FlagStoreError, match="line 1: expected a JSON object with fields id, time"):
        flags.read_records(tmp_path)


def test_a_failed_write_leaves_no_half_line(tmp_path, monkeypatch):
    store = flags.FlagStore(tmp_path)
    first = store.append(record("first"))
    real_write = os.write
    monkeypatch.setattr(flags.os, "write", lambda fd, data: real_write(fd, data[:10]))  # e.g. disk full
    with pytest.raises(OSError, match="short write"):
        store.append(record("lost"))
    monkeypatch.setattr(flags.os, "write", real_write)
    third = store.append(record("third"))
    assert [r["id"] for r in store.records()] == [first, third]


def test_200_concurrent_flags_from_threads_and_processes_are_all_stored_exactly(tmp_path):
    # 3 writer processes x 5 threads x 10 flags, plus 50 flags from 10 threads of this process: 200.
    procs = [
        subprocess.Popen([*WRITER, str(tmp_path), f"p{p}", "5", "10"], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        for p in range(3)
    ]
    store, acknowledged = flags.FlagStore(tmp_path), {}
    lock = threading.Lock()

    def write_here(thread: int) -> None:
        for n in range(5):
            text = f"main-t{thread}-{n}"
            rid = store.append(make_flag(text))
            with lock:
                acknowledged[rid] = text

    threads = [threading.Thread(target=write_here, args=(t,)) for t in range(10)]
    for t in threads:
        t.start()
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        acknowledged.update(line.split(" ", 1) for line in out.splitlines())
    for t in threads:
        t.join()

    records = flags.read_records(tmp_path)
    assert len(records) == 200 == len(acknowledged)
    assert {r["id"]: r["text"] for r in records} == acknowledged
    for rec in records:
        assert without_id_and_time(rec) == expected_record(rec["text"])
    assert len(list(tmp_path.glob("flags-*.jsonl"))) == 4  # one file per writer process


def test_kill_9_during_writes_keeps_every_acknowledged_flag(tmp_path):
    proc = subprocess.Popen(
        [*WRITER, str(tmp_path), "victim", "4", "0"], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    acknowledged = {}
    for line in proc.stdout:  # read acknowledgements until well into the stream, then kill mid-write
        rid, text = line.rstrip("\n").split(" ", 1)
        acknowledged[rid] = text
        if len(acknowledged) == 300:
            os.kill(proc.pid, signal.SIGKILL)
            break
    acknowledged.update(line.rstrip("\n").split(" ", 1) for line in proc.stdout if line.endswith("\n"))
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    records = flags.read_records(tmp_path)  # raises on any corrupted complete line
    stored = {r["id"]: r for r in records}
    assert len(stored) == len(records)
    assert set(acknowledged) <= set(stored)  # every confirmed flag survived
    assert len(records) - len(acknowledged) <= 4  # at most the writes in flight (one per thread) were not yet printed
    for rid, text in acknowledged.items():
        assert stored[rid]["text"] == text
        assert without_id_and_time(stored[rid]) == expected_record(text)
    assert all(r["scores"] == SCORES for r in records)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_export_round_trips_exactly(tmp_path, suffix):
    store = flags.FlagStore(tmp_path / "store")
    for text, revision in [('she said "wow", then; left', "abc123"), ("two\nlines", None), ("<b>x</b>,é", None)]:
        store.append(record(text, note='a, note; "quoted"', model_revision=revision))
    written = store.records()
    out = flags.export(written, tmp_path / f"flags{suffix}")
    assert load_flag_records(out) == written  # read back by the one reader training uses
    if suffix == ".csv":
        assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(FIELDS)


FORMULAS = ['=HYPERLINK("http://x")', "+1", "-1 sad", "@SUM(A1)", "\tx", "\rx", "'=already quoted", "'tis fine"]


def test_csv_export_neutralises_formulas_and_jsonl_keeps_them_verbatim(tmp_path):
    store = flags.FlagStore(tmp_path / "store")
    for text in FORMULAS:
        store.append(record(text, note=text))
    written = store.records()
    csv_out = flags.export(written, tmp_path / "flags.csv")
    with csv_out.open(newline="", encoding="utf-8") as f:
        cells = {row["text"]: row["note"] for row in csv.DictReader(f)}
    assert sorted(cells) == sorted(["'" + t for t in FORMULAS[:-1]] + ["'tis fine"])
    assert all(text == note for text, note in cells.items())
    assert load_flag_records(csv_out) == written  # training takes the apostrophe off again
    jsonl_out = flags.export(written, tmp_path / "flags.jsonl")
    assert [json.loads(line)["text"] for line in jsonl_out.read_text(encoding="utf-8").splitlines()] == [
        r["text"] for r in written
    ]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "space.flags", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_cli_export_writes_every_flag_and_reports_user_errors_in_one_line(tmp_path):
    store = flags.FlagStore(tmp_path / "store")
    ids = {store.append(record(f"text {i}")) for i in range(5)}
    result = run_cli("export", "--flag-dir", str(tmp_path / "store"), "--out", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert "exported 5 flags" in result.stdout
    assert {r["id"] for r in load_flag_records(tmp_path / "out.csv")} == ids

    bad = run_cli("export", "--flag-dir", str(tmp_path / "store"), "--out", str(tmp_path / "out.txt"))
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        == f"flags error: {tmp_path / 'out.txt'}: unknown format — expected a .jsonl or .csv file name"
    )
    missing = run_cli("export", "--flag-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o.jsonl"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_export_takes_output_and_its_earlier_spelling_out(tmp_path):
    store = flags.FlagStore(tmp_path / "store")
    ids = {store.append(record(f"text {i}")) for i in range(3)}
    result = run_cli("export", "--flag-dir", str(tmp_path / "store"), "--output", str(tmp_path / "out.jsonl"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 3 flags to {tmp_path / 'out.jsonl'}"
    assert {r["id"] for r in load_flag_records(tmp_path / "out.jsonl")} == ids
    usage = run_cli("export", "--help").stdout
    assert "--output OUTPUT, --out OUTPUT" in usage


@pytest.mark.parametrize(
    ("command", "new", "dest"),
    [("export", "--output", "output"), ("review", "--output", "output"), ("pull", "--output-dir", "output_dir")],
)
def test_every_command_takes_output_or_output_dir_and_still_out(command, new, dest):
    """A command that writes one file takes --output, a folder --output-dir; --out is their earlier spelling."""
    parser = flags_cli.build_parser()
    extra = ["--repo", "me/emotion-flags"] if command == "pull" else []
    for spelling in (new, "--out"):
        args = parser.parse_args([command, *extra, spelling, "target"])
        assert getattr(args, dest) == "target"


def test_one_line_errors_turns_a_user_error_into_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as exit_, flags.one_line_errors(flags.FlagStoreError, prefix="flags error"):
        raise flags.FlagStoreError("flags/x.jsonl line 3: not valid JSON")
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "flags error: flags/x.jsonl line 3: not valid JSON\n"
    with pytest.raises(KeyError), flags.one_line_errors(flags.FlagStoreError, prefix="flags error"):
        raise KeyError("a bug keeps its traceback")


def test_pull_copies_the_dataset_data_jsonl_files(tmp_path, monkeypatch):
    import huggingface_hub

    snapshot = tmp_path / "snapshot"
    remote = flags.FlagStore(snapshot / "data")
    ids = {remote.append(record(f"remote {i}")) for i in range(3)}
    (snapshot / "README.md").write_text("not a flag file")
    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    files = flags.pull("me/emotion-flags", tmp_path / "pulled")
    assert calls == [("me/emotion-flags", {"repo_type": "dataset", "allow_patterns": "data/*.jsonl"})]
    assert [f.name for f in files] == [remote.path.name]
    assert {r["id"] for r in flags.read_records(tmp_path / "pulled")} == ids


def test_pull_offline_is_a_clear_user_error(tmp_path):
    result = run_cli(
        "pull",
        "--repo",
        "me/emotion-flags",
        "--out",
        str(tmp_path / "pulled"),
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("flags error: pull me/emotion-flags: ") and "Traceback" not in result.stderr


def test_open_store_without_token_keeps_flags_local(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no stored `hf auth login` token either
    monkeypatch.delenv("HF_TOKEN", raising=False)
    store, status = flags.open_store(tmp_path / "f", "me/emotion-flags")
    assert "no Hub token" in status and "stay local" in status
    store.append(record("local"))
    assert len(flags.read_records(tmp_path / "f")) == 1


def test_open_store_with_token_syncs_with_commit_scheduler_and_writes_under_its_lock(tmp_path, monkeypatch):
    import huggingface_hub

    created, schedulers = [], []

    class FakeScheduler:
        def __init__(self, **kwargs):
            created.append(kwargs)
            schedulers.append(self)
            self.lock = threading.Lock()

    monkeypatch.setenv("HF_TOKEN", "hf_test_token_not_real")
    monkeypatch.setattr(huggingface_hub, "CommitScheduler", FakeScheduler)
    store, status = flags.open_store(tmp_path / "f", "me/emotion-flags")
    assert created == [
        {
            "repo_id": "me/emotion-flags",
            "repo_type": "dataset",
            "folder_path": tmp_path / "f",
            "path_in_repo": "data",
            "allow_patterns": "*.jsonl",
            "every": 5,
        }
    ]
    assert "synced to the dataset me/emotion-flags" in status
    assert "hf_test_token" not in status
    scheduler_lock = schedulers[0].lock
    assert store.lock is scheduler_lock
    assert scheduler_lock.acquire(blocking=False)  # while the scheduler snapshots the folder, writes wait:
    try:
        blocked = threading.Thread(target=store.append, args=(record("waits for the sync"),))
        blocked.start()
        blocked.join(timeout=0.5)
        assert blocked.is_alive() and flags.read_records(tmp_path / "f") == []
    finally:
        scheduler_lock.release()
    blocked.join(timeout=10)
    assert [r["text"] for r in flags.read_records(tmp_path / "f")] == ["waits for the sync"]
