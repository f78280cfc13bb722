"""Texts ``training.ask`` never asks about: those labelled already, and those kept for evaluation.

- **the training data** of MODEL, when MODEL is an output folder whose data is on this disk (its
  ``train_config.json``, with the full path from ``local_paths.json``): every text of its train split (all
  of it: ``--max-train-samples`` only chose which ones the run used; they are all labelled already);
- **validation/test**: every text of those splits; a label there would leak evaluation data into training;
- **the corrections** the run merged (``--corrections``), when local: their texts may be in training now;
- **--exclude FILE**: any file (or folder, or glob) ``training.predict`` reads, e.g. an earlier sheet.

Texts match as the corrections match them (``formats.flag_record.text_key``: Unicode NFC, whitespace
collapsed, case-folded). Keys are kept as 8-byte hashes, so a pool of millions fits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from formats.command_line import first_line
from formats.flag_record import from_csv_cell
from formats.output_folder import TRAIN_CONFIG_FILE
from training.backbones import ALIASES
from training.corrections.audit import key_hash
from training.errors import ToolkitError
from training.paths import is_local

# Why a pool text is skipped, in the order they are checked (a text in several counts once, under the first).
TRAINING, HELD_OUT = "in the training data", "in validation/test"
CORRECTIONS, EXCLUDED = "in its corrections", "in --exclude"
REASONS = (TRAINING, HELD_OUT, CORRECTIONS, EXCLUDED)
NOT_SKIPPED = "its texts are not skipped — pass --exclude FILE (repeatable) with the data it was trained on"


@dataclass
class Known:
    """The texts to skip, by reason (hashed keys), and notes on what could not be read."""

    keys: dict[str, set[bytes]] = field(default_factory=lambda: {reason: set() for reason in REASONS})
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # the --exclude files read (a sheet may never replace one)
    labelled: dict[str, int] = field(default_factory=dict)  # class -> texts of the model's train split, when read

    def add(self, reason: str, texts) -> None:
        self.keys[reason].update(key_hash(text) for text in texts if text)

    def reason(self, key: bytes) -> str | None:
        """Why a text of this key is skipped; None when it may be asked."""
        return next((reason for reason in REASONS if key in self.keys[reason]), None)


def known_texts(model: str, excludes: list[str], text_column: str = "text", label_column: str = "label") -> Known:
    """Everything ``training.ask`` skips for ``model`` and ``--exclude`` files.

    Args:
        model: MODEL as given (an output folder, or a Hub id).
        excludes: the ``--exclude`` sources.
        text_column: the column holding the text in an ``--exclude`` file.
        label_column: its label column, when it has one (a ``.txt`` is then ``text;label`` lines).

    Raises:
        ToolkitError: an ``--exclude`` source that cannot be read (missing, empty, malformed).
    """
    known = Known()
    training_data(model, known)
    for source in excludes:
        exclude_texts(source, text_column, label_column, known)
    return known


def training_data(model: str, known: Known) -> None:
    """Add the texts of ``model``'s data (train, validation/test) and corrections; a note when they cannot be read."""
    folder = Path(model).expanduser()
    if model in ALIASES and not folder.exists():
        known.notes.append(
            f"note: {model} is the bundled base encoder, trained on no data of yours: pass --exclude FILE "
            "(repeatable) with your validation/test data so that none of it is asked"
        )
        return
    if not folder.is_dir():
        known.notes.append(f"note: {model} is a Hub model id, not an output folder here: {NOT_SKIPPED}")
        return
    if not (folder / TRAIN_CONFIG_FILE).is_file():
        known.notes.append(f"note: {model} has no {TRAIN_CONFIG_FILE}: {NOT_SKIPPED}")
        return
    from training.config import TrainConfig, read_config_file

    try:
        config = TrainConfig(**read_config_file(str(folder / TRAIN_CONFIG_FILE)))
    except (ToolkitError, TypeError) as err:
        known.notes.append(f"note: cannot read {folder / TRAIN_CONFIG_FILE} ({first_line(err)}): {NOT_SKIPPED}")
        return
    if not is_local(config.data) or not Path(config.data).expanduser().exists():
        what = "is not on this disk" if is_local(config.data) else "is not a local file (a Hub dataset or a URL)"
        known.notes.append(f"note: {model} was trained on {config.data}, which {what}: {NOT_SKIPPED}")
    else:
        from training.data.load import load_data

        try:
            data = load_data(config.data, **{**config.data_options(), "min_class_examples": 0})
        except ToolkitError as err:
            known.notes.append(f"note: cannot read {model}'s training data ({err}): {NOT_SKIPPED}")
        else:
            known.add(TRAINING, data.splits["train"]["text"])
            known.labelled = {label: counts["train"] for label, counts in data.class_counts().items()}
            known.add(HELD_OUT, data.held_out_texts())
    if config.corrections and is_local(config.corrections) and Path(config.corrections).expanduser().exists():
        known.add(CORRECTIONS, correction_texts(config.corrections))


def correction_texts(source: str) -> list[str]:
    """The texts of the flag records a run merged, whatever their label (the merge may have added them)."""
    from training.corrections.records import load_flag_records

    records = load_flag_records(source)
    return [record["text"] for record in records if record.get("corrected_label") and record.get("accept", True)]


def exclude_texts(source: str, text_column: str, label_column: str, known: Known) -> None:
    """Add the texts of one ``--exclude`` source, read as ``training.predict`` reads its input.

    A CSV cell written with a leading apostrophe against spreadsheet formulas (an earlier sheet, the flag
    export) counts both as written and without that apostrophe.
    """
    from training.predict.inputs import open_input

    data = open_input(source, text_column=text_column, label_column=label_column)
    csv = any(file.suffix.lower() == ".csv" for file in data.files)
    texts = []
    for row in data.rows():
        texts.append(row.text)
        if csv and row.text:
            texts.append(from_csv_cell(row.text))
    if not texts:
        raise ToolkitError(
            f"ask error: --exclude {source}: no texts — expected a data file with a '{text_column}' column"
        )
    known.add(EXCLUDED, texts)
    known.files += data.files
