"""A flag-writing process for the store tests: ``python -m tests.space.flag_writer DIR NAME THREADS COUNT``.

Each of THREADS threads appends COUNT flags (COUNT 0: until killed) with text ``NAME-t<thread>-<n>`` and
prints ``<record id> <text>`` once the store's append has returned, i.e. once the flag is acknowledged.
"""

import sys
import threading
from itertools import count as forever
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "space"))  # as the Space imports it
import flags

SCORES = {"joy": 0.75, "surprise": 0.25}


def expected_record(text: str) -> dict:
    """Every field of the record a writer stores for ``text``, except id and time."""
    return {
        "text": text,
        "predicted_label": "joy",
        "scores": SCORES,
        "corrected_label": "surprise",
        "note": f"note for {text} <b>é</b>",
        "model": "tiny/emotion",
        "model_revision": None,
        "client": "anon:0123456789abcdef",
    }


def make_flag(text: str, **overrides) -> dict:
    """A fresh record (new id and time) whose other fields are :func:`expected_record`'s, or ``overrides``."""
    fields = {**expected_record(text), **overrides}
    del fields["predicted_label"]  # make_record takes it from the scores
    return flags.make_record(**fields)


def write(store: flags.FlagStore, name: str, thread: int, n_flags: int, out_lock: threading.Lock) -> None:
    for n in range(n_flags) if n_flags else forever():
        text = f"{name}-t{thread}-{n}"
        record_id = store.append(make_flag(text))
        with out_lock:
            print(record_id, text, flush=True)


def main() -> None:
    flag_dir, name, threads, n_flags = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store, out_lock = flags.FlagStore(flag_dir), threading.Lock()
    workers = [threading.Thread(target=write, args=(store, name, t, n_flags, out_lock)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
