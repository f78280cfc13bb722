"""The data a run was trained on, read as training read it, and the texts its owner said are labelled right.

The run's ``train_config.json`` (with ``local_paths.json``'s full paths) names the data and how to read it; the
same readers (``training.data.load``) read it, whole: ``--max-train-samples`` only chose which training texts the
run used, and every text's label may be wrong. When the run was trained with ``--corrections`` (local and still
there) they are applied to the training split as training applied them, so that the audit sees the labels the
model learnt. A text kept in an earlier audit (``corrections.json``'s ``audit.kept_keys``, or a ``keep`` row of an
``--exclude`` sheet) is never a suspect again.
"""

from __future__ import annotations

from pathlib import Path

from formats.output_folder import CONFIG_FILE, CORRECTIONS_FILE, TRAIN_CONFIG_FILE
from training.errors import ToolkitError
from training.paths import is_local, with_local_paths
from training.runtime import read_json_object

PREFIX = "audit error"


def check_run(run_dir: Path) -> None:
    """Refuse a RUN_DIR that is not a training run's output folder (one line)."""
    if not run_dir.is_dir():
        raise ToolkitError(f"{PREFIX}: {run_dir}: no such folder — expected an output folder of python -m training")
    for name in (CONFIG_FILE, TRAIN_CONFIG_FILE):
        if not (run_dir / name).is_file():
            raise ToolkitError(
                f"{PREFIX}: {run_dir}: no {name} — expected an output folder of python -m training (the audit reads "
                f"the run's data from its {TRAIN_CONFIG_FILE})"
            )


def run_config(run_dir: Path):
    """The run's options (``training.config.TrainConfig``), its data's full local path put back."""
    from training.config import TrainConfig

    path = run_dir / TRAIN_CONFIG_FILE
    saved = read_json_object(path, f"{PREFIX}: {path}").get("config", {})
    try:
        return TrainConfig(**with_local_paths(saved, run_dir))
    except TypeError as err:
        raise ToolkitError(f"{PREFIX}: {path}: not a {TRAIN_CONFIG_FILE} of this toolkit ({err})") from None


def run_data(run_dir: Path):
    """The run's data (``training.data.load.LoadedData``) as the run saw it: its corrections applied to the training
    split with the run's rules, and to the evaluation splits when it was trained with ``--correct-eval``.

    Raises:
        ToolkitError: the data is not on this disk any more, or cannot be read (one line naming it).
    """
    from training.data.load import load_data

    config = run_config(run_dir)
    if is_local(config.data) and not Path(config.data).expanduser().exists():
        raise ToolkitError(
            f"{PREFIX}: {run_dir} was trained on {config.data}, which is not on this disk — the audit needs the "
            "run's data: put it back there, or audit a run whose data is here"
        )
    try:
        data = load_data(config.data, **{**config.data_options(), "min_class_examples": 0})
    except ToolkitError as err:
        raise ToolkitError(f"{PREFIX}: cannot read {run_dir}'s data {config.data}: {err}") from None
    if config.corrections and is_local(config.corrections) and Path(config.corrections).expanduser().exists():
        from training.corrected_eval import correct_evaluation_splits
        from training.corrections.apply import apply_run_corrections

        data = correct_evaluation_splits(apply_run_corrections(data, config, data.held_out_texts())[0], config)[0]
    return data


def kept_keys(run_dir: Path, sheets: list[str]) -> set[str]:
    """The hashed keys (hex, ``training.corrections.audit.key_hash``) of the texts the owner kept: the run's
    ``corrections.json`` and the ``keep`` rows of earlier audit sheets (``--exclude``)."""
    from training.corrections.audit import KEEP, key_hash
    from training.corrections.records import load_flag_records

    keys = set()
    record = run_dir / CORRECTIONS_FILE
    if record.is_file():
        keys |= set((read_json_object(record, f"{PREFIX}: {record}").get("audit") or {}).get("kept_keys", []))
    for sheet in sheets:
        for row in load_flag_records(sheet):
            if str(row.get("corrected_label") or "").strip().lower() == KEEP:
                keys.add(key_hash(row["text"]).hex())
    return keys
