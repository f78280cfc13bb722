"""``python -m training`` that records every file this process opens for writing (used by the torchrun test).

    torchrun --nproc_per_node 2 -m tests.training.record_writes --data ... --output-dir ...

Each process writes the paths it opened for writing, one a line, to ``$RECORD_WRITES_DIR/rank-N.txt``
(N = its torchrun rank). Python's audit hook sees every ``open()`` / ``os.open()`` made from Python, which
is how the JSON, CSV, PNG and config files are written; the Rust writers of safetensors and tokenizers
are not seen (they write in the same ``save_pretrained`` call as ``config.json``, which is).

umap-learn is hidden (as where it is not installed), so the embedding map is projected with PCA: compiling
UMAP's numba code would be most of a fresh process's work, and the UMAP path is tested in-process
(tests/training/test_explore.py, test_pipeline.py).
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
written: list[str] = []


def opens_for_writing(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return bool(flags & WRITE_FLAGS)


def record(event: str, args: tuple) -> None:
    if event == "open" and isinstance(args[0], str | bytes | os.PathLike) and opens_for_writing(args[1], args[2]):
        written.append(os.path.abspath(os.fsdecode(args[0])))


def save() -> None:
    lines = list(written)  # taken before the write below, which the hook sees too
    log = Path(os.environ["RECORD_WRITES_DIR"]) / f"rank-{os.environ.get('RANK', '0')}.txt"
    log.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    sys.modules["umap"] = None  # `import umap` raises ImportError: training.quality.explore falls back to PCA
    sys.addaudithook(record)
    atexit.register(save)
    sys.argv = ["training", *sys.argv[1:]]
    runpy.run_module("training", run_name="__main__", alter_sys=True)
