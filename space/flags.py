"""The flag store: durable, append-only JSON lines of misclassified tweets flagged in the Space.

Layout (the contract with ``training --corrections``): ``FLAG_DIR/flags-<uuid4>.jsonl``, one file per
writer process, one JSON object per line. Each flag is one ``os.write`` of the whole line on an
``O_APPEND`` descriptor, then ``fsync``, under a thread lock — so threads never interleave, processes
never share a file, and a crash can at worst leave an unterminated last line, which readers ignore
(that flag was never confirmed to the user). Optionally the folder is synced to a Hub dataset repo
with ``huggingface_hub.CommitScheduler`` (files under ``data/``), pushed once more when the Space is
stopped (:func:`final_push`).

CLI (flags_cli.py)::

    python -m space.flags export --flag-dir flags/ --output flags.csv        # or flags.jsonl
    python -m space.flags pull --repo-id me/emotion-flags --output-dir flags/   # token from the environment
    python -m space.flags review --flag-dir flags/ --output review.csv [--data data/]   # one row per text

``--out``, the earlier spelling of ``--output`` and ``--output-dir``, still works.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from formats.flag_record import FIELDS, REQUIRED, csv_cell, set_cell

logger = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # a record's ``time``, in UTC
# Letters and symbols that show nothing: the Hangul fillers and the blank braille pattern.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


class FlagStoreError(Exception):
    """A flag file or export target the user must fix (printed as one line by the CLI)."""


def make_record(
    *,
    text: str,
    scores: dict[str, float],
    corrected_label: str | None,
    note: str,
    model: str,
    model_revision: str | None,
    client: str,
) -> dict:
    """Build a flag record (the fields of ``FIELDS``, listed in README.md) with a random id and the current UTC time.

    Args:
        text: the flagged text, stored verbatim.
        scores: the model's ``{label: probability}`` for ``text``; the top one is ``predicted_label``.
        corrected_label: the label the user believes is right (None in a multi-label record, label_sets.py).
        note: the user's optional note.
        model: model id or path that produced ``scores`` (a local folder is stored by its name only).
        model_revision: its revision, or None.
        client: who sent it (``hf:<username>`` or ``anon:<salted hash>``, see visitors.py); never an address.
    """
    return {
        "id": str(uuid.uuid4()),
        "time": datetime.now(timezone.utc).strftime(TIME_FORMAT),
        "text": text,
        "predicted_label": max(scores, key=scores.get),
        "scores": scores,
        "corrected_label": corrected_label,
        "note": note,
        "model": public_model_name(model),
        "model_revision": model_revision,
        "client": client,
    }


def public_model_name(model: str) -> str:
    """How a flag names the model: a Hub id as it is, a local folder by its name only.

    Flags are synced to a Hub dataset and exported: an absolute path would publish the layout of the
    machine the app ran on (its home folder, user name). Shown on the page too, for the same reason.
    """
    path = Path(model).expanduser()
    return path.resolve().name if path.is_dir() or path.is_absolute() or model.startswith((".", "~")) else model


class FlagStore:
    """Appends flag records to this process's own ``flags-<uuid4>.jsonl`` in ``flag_dir``.

    Args:
        flag_dir: the folder (created if missing).
        lock: the thread lock to write under; pass ``CommitScheduler.lock`` so that a Hub sync never
            snapshots a file in the middle of a write.
    """

    def __init__(self, flag_dir: str | Path, lock: threading.Lock | None = None) -> None:
        self.flag_dir = Path(flag_dir)
        _check_writable(self.flag_dir)
        self.lock = lock or threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self.path: Path | None = None
        self.scheduler = None  # the CommitScheduler syncing flag_dir, set by open_store

    def _file(self) -> int:
        # A file per process: after a fork the child must not append to its parent's file.
        if self._fd is None or self._pid != os.getpid():
            self.path = self.flag_dir / f"flags-{uuid.uuid4()}.jsonl"
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._pid = os.getpid()
            _fsync_dir(self.flag_dir)  # make the new file's directory entry durable too
        return self._fd

    def append(self, record: dict) -> str:
        """Write ``record`` durably and return its id; once this returns, the flag survives a crash."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            fd = self._file()
            end = os.lseek(fd, 0, os.SEEK_END)
            try:
                if os.write(fd, line) != len(line):  # e.g. disk full: never leave half a line behind
                    raise OSError(f"short write to {self.path}")
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, end)
                raise
        return record["id"]

    def records(self) -> list[dict]:
        """Every complete record in the folder (all writers), oldest first."""
        return read_records(self.flag_dir)

    @property
    def dataset_repo(self) -> str | None:
        """The Hub dataset the flags are published to (synced by :func:`open_store`), or None: they stay here."""
        return self.scheduler.repo_id if self.scheduler is not None else None


def _check_writable(flag_dir: Path) -> None:
    """Create ``flag_dir`` if missing and write (then delete) a file in it, so that a folder the app cannot use
    stops it at start-up rather than at the first flag.

    Raises:
        FlagStoreError: it cannot be created or written (one line with the system's reason).
    """
    try:
        flag_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=flag_dir)  # not *.jsonl: never synced
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise FlagStoreError(
            f"FLAG_DIR={flag_dir}: cannot create or write the flag folder ({error.strerror or error}) — "
            "set FLAG_DIR to a folder the app can write"
        ) from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """Parse a flag file; an unterminated last line (a write cut off by a crash) is ignored.

    Raises:
        FlagStoreError: a complete line that is not a JSON object with the record fields.
    """
    lines = path.read_bytes().split(b"\n")
    records = []
    for number, line in enumerate(lines[:-1], start=1):  # lines[-1] is b"" or the unterminated tail
        try:
            record = json.loads(line)
        except ValueError:
            raise FlagStoreError(f"{path} line {number}: not valid JSON — expected one flag record per line") from None
        if not isinstance(record, dict) or not set(REQUIRED) <= set(record):
            raise FlagStoreError(f"{path} line {number}: expected a JSON object with fields {', '.join(FIELDS)}")
        records.append(record)
    return records


def read_records(flag_dir: str | Path) -> list[dict]:
    """All records of every ``*.jsonl`` in ``flag_dir``, sorted by time then id."""
    flag_dir = Path(flag_dir)
    if not flag_dir.is_dir():
        raise FlagStoreError(f"{flag_dir}: no such folder — expected a flag folder of *.jsonl files")
    records = [r for path in sorted(flag_dir.glob("*.jsonl")) for r in read_jsonl(path)]
    return sorted(records, key=lambda r: (r["time"], r["id"]))


def has_visible_character(text: str) -> bool:
    """Whether ``text`` shows anything: a character that is not whitespace, a control or format character
    (zero-width space, joiners, bidi marks), a lone combining mark, or a blank letter (Hangul filler)."""
    return any(
        not char.isspace() and unicodedata.category(char)[0] not in "CZM" and char not in BLANK_LETTERS for char in text
    )


def export(records: list[dict], out: str | Path) -> Path:
    """Write ``records`` to ``out``: JSON lines (``.jsonl``, verbatim) or CSV (``.csv``, columns FIELDS, scores as
    a JSON string, a set of labels ``;``-joined in one cell, formula-like cells neutralised by :func:`csv_cell`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".jsonl":
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    elif out.suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            for r in records:
                row = {k: set_cell(v) if isinstance(v, list) else v for k, v in r.items()}
                row["scores"] = json.dumps(r["scores"], ensure_ascii=False)
                writer.writerow({key: csv_cell(value) for key, value in row.items()})
    else:
        raise FlagStoreError(f"{out}: unknown format — expected a .jsonl or .csv file name")
    return out


def pull(repo_id: str, out: str | Path) -> list[Path]:
    """Download ``data/*.jsonl`` of the Hub dataset ``repo_id`` into ``out``; token from the environment."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    try:
        snapshot = Path(snapshot_download(repo_id, repo_type="dataset", allow_patterns="data/*.jsonl"))
    except (HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled) as error:
        raise FlagStoreError(
            f"pull {repo_id}: {type(error).__name__} — check the dataset repo id, your network, "
            "and that HF_TOKEN (or `hf auth login`) can read it"
        ) from None
    sources = sorted((snapshot / "data").glob("*.jsonl"))
    if not sources:
        raise FlagStoreError(f"pull {repo_id}: no data/*.jsonl in the dataset repo — expected the Space's synced flags")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(src, out / src.name)) for src in sources]


def default_flag_dir(persistent: Path = Path("/data")) -> str:
    """``/data/flags`` on a Space with persistent storage (mounted at ``/data``), else ``flags``."""
    return str(persistent / "flags") if persistent.is_dir() else "flags"


def open_store(flag_dir: str | Path, dataset_repo: str | None = None, every: float = 5) -> tuple[FlagStore, str]:
    """Open the store, synced to the Hub dataset ``dataset_repo`` when a token is available.

    Args:
        flag_dir: the flag folder.
        dataset_repo: Hub dataset repo id, or None to keep flags local.
        every: minutes between two pushes to the Hub.

    Returns:
        The store and one line for the operator saying where flags go (the app logs it at start-up).
    """
    if dataset_repo:
        from huggingface_hub import CommitScheduler, get_token

        if get_token() is None:
            status = f"FLAG_DATASET_REPO={dataset_repo} but no Hub token (HF_TOKEN): flags stay local in {flag_dir}"
        else:
            try:  # Gradio's recommended way to persist data from a Space: commit the folder every few minutes
                scheduler = CommitScheduler(
                    repo_id=dataset_repo,
                    repo_type="dataset",
                    folder_path=flag_dir,
                    path_in_repo="data",
                    allow_patterns="*.jsonl",
                    every=every,
                )
            except Exception as error:  # any failure: the app must still run and keep flags locally
                status = (
                    f"could not sync flags to {dataset_repo} ({type(error).__name__}): flags stay local in {flag_dir}"
                )
            else:
                store = FlagStore(flag_dir, lock=scheduler.lock)
                store.scheduler = scheduler
                return store, f"Flags are saved in {flag_dir} and synced to the dataset {dataset_repo}."
    else:
        status = f"Flags are saved locally in {flag_dir} (set FLAG_DATASET_REPO and HF_TOKEN to sync them to the Hub)."
    return FlagStore(flag_dir), status


def final_push(store: FlagStore, timeout: float) -> str:
    """Push the store to the Hub one last time (the process is being stopped), waiting at most ``timeout`` s.

    Then the scheduler is stopped, so that its own ``atexit`` push (unbounded) does nothing.

    Returns:
        One line saying what happened, for the log.
    """
    scheduler = store.scheduler
    if scheduler is None:
        return "flags are local only: nothing to push"
    future = scheduler.trigger()
    try:
        future.result(timeout=timeout)
    except TimeoutError:
        outcome = f"final push to {scheduler.repo_id} still running after {timeout:g} s: giving up"
    except Exception as error:  # the process is stopping: report, never raise
        outcome = f"final push to {scheduler.repo_id} failed ({type(error).__name__})"
    else:
        outcome = f"final push to {scheduler.repo_id} done"
    scheduler.stop()
    return outcome


def push_on_signals(store: FlagStore, timeout: float) -> None:
    """On SIGTERM (what a Space gets on restart, sleep or upgrade) or SIGINT: push the flags, then exit.

    ``CommitScheduler`` pushes at ``atexit``, but a signal ends the process without running it, and
    a Space without persistent storage then loses every flag since the last push. The push is bounded
    by ``timeout`` so that the process always stops; ``os._exit`` because a push still hanging in the
    scheduler's worker thread would otherwise block the interpreter's exit.
    """

    def stop(signum: int, _frame) -> None:
        logger.warning("%s: %s", signal.Signals(signum).name, final_push(store, timeout))
        logging.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


USER_ERROR_STATUS = 2  # the exit status of a user error, as argparse exits on a bad option


@contextlib.contextmanager
def one_line_errors(*errors: type[Exception], prefix: str, status: int = USER_ERROR_STATUS) -> Iterator[None]:
    """Turn a user error (one of ``errors``) raised in the block into one line on stderr, ``prefix: message``,
    and exit with ``status``, without a traceback: the message says what to fix. Any other exception is a
    bug and keeps its traceback. The one such helper of the Space's part (app.py uses it at start-up)."""
    try:
        yield
    except errors as error:
        print(f"{prefix}: {error}", file=sys.stderr)
        raise SystemExit(status) from None


if __name__ == "__main__":
    # Run as the module the neighbours import (`import flags`, as on a Space), not as a second copy named
    # __main__ whose FlagStoreError would be another class.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import flags_cli

    sys.exit(flags_cli.main())
