"""The one rule every command that writes a file follows: never onto an input, never into a model's folder, and
never over an existing file unless told to (``--overwrite``).

Each part wraps the reason in its own one-line error (``training``'s ToolkitError, ``publish``'s PublishError,
the Space's FlagStoreError), so the rule and its words are the same everywhere.
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a killed run's staging folder stays until removed by hand
    fcntl = None

from formats.output_folder import CONFIG_FILE, METRICS_FILE, TRAIN_CONFIG_FILE, WEIGHTS_FILE

OVERWRITE_HINT = "pass --overwrite to replace it, or choose another"
# The help of --overwrite, the same in every command (a command adds what it replaces beyond its output).
OVERWRITE_HELP = (
    "Replace the --output file (or the --output-dir folder) if it already exists; never one of the command's inputs."
)


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (the same resolved path, or through links)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def is_model_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a model: a ``config.json`` beside weights or a training run's ``train_config.json``."""
    return (folder / CONFIG_FILE).is_file() and any(
        (folder / name).is_file() for name in (WEIGHTS_FILE, TRAIN_CONFIG_FILE)
    )


def model_folder_of(path: Path) -> Path | None:
    """The model folder that ``path`` would be written into (its folder or one above), or None."""
    folder = path.resolve().parent
    return next((parent for parent in (folder, *folder.parents) if is_model_folder(parent)), None)


def write_refusal(
    target: str | Path,
    option: str,
    *,
    overwrite: bool,
    inputs: Iterable[Path] = (),
    own_folder: bool = False,
    resumable: bool = False,
) -> str | None:
    """Why ``target`` must not be written, in words for a one-line error, or None when it may be.

    Args:
        target: the file (or folder) the command is about to write.
        option: how the user named it (``--output``, ``--metrics``), for the message.
        overwrite: whether the user passed ``--overwrite``.
        inputs: the command's input files: never replaced, whatever ``overwrite`` says.
        own_folder: the command writes a file of the output folder's own contract into a run (training.export's
            ``onnx/``, training.compare's ``comparison.*``): a model folder is then the right place.
        resumable: an existing target may be this command's own unfinished work, which the caller judges
            (training.predict's manifest, publish's empty dry-run folder): existence alone is no refusal here.
    """
    target = Path(target)
    if any(same_file(target, path) for path in inputs):
        return (
            f"{option} {target}: is one of this command's inputs — choose another {option} "
            "(--overwrite never replaces an input)"
        )
    model = None if own_folder else model_folder_of(target)
    if model is not None:
        return (
            f"{option} {target}: is inside the model folder {model} — write it elsewhere "
            "(--overwrite never writes into a model's folder)"
        )
    if target.exists() and not overwrite and not resumable:
        return f"{option} {target}: already exists — {OVERWRITE_HINT} {option}"
    return None


# --- A folder replaced whole --------------------------------------------------------------------------
# A command that writes a whole folder (a training run, onnx/) writes it beside its place under a hidden name
# and swaps it in at the end: a crash leaves the old folder as it was, and no reader ever meets a mix of the
# old and the new files.
RUN_MARKERS = (CONFIG_FILE, TRAIN_CONFIG_FILE, METRICS_FILE)  # a folder holding one of these holds a run


def folder_refusal(folder: str | Path, option: str, *, overwrite: bool, replace_option: str) -> str | None:
    """Why ``folder`` must not be (re)written by a command that replaces it whole, or None when it may be.

    Args:
        folder: the folder the command writes.
        option: how the user named it (``--output-dir``).
        overwrite: whether the user said to replace what is there.
        replace_option: the option that says so (``--overwrite-output-dir``), for the message.
    """
    folder = Path(folder)
    if folder.is_file():
        return f"{option} {folder}: is a file — expected a folder"
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    if not any((folder / name).exists() for name in RUN_MARKERS):
        return (
            f"{option} {folder}: holds files that are not a training run — choose a new or empty folder "
            f"({replace_option} replaces only a run)"
        )
    if not overwrite:
        return f"{option} {folder}: holds a run already — pass {replace_option} to replace it whole, or choose another"
    return None


def staging_folder(folder: str | Path, run_id: str) -> Path:
    """Where a run writes ``folder`` before it is swapped in: a hidden sibling, on the same file system."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}.incoming-{run_id}"


# A staging folder's owner holds an exclusive lock on a file beside it (``STAGING.lock``) for as long as it lives:
# the kernel drops the lock when the process ends, however it ends (kill -9 included), so a lock that can be taken
# marks the folder of a run that died before swapping it in. Open lock files by staging folder.
_HELD: dict[Path, object] = {}


def _lock_path(staging: Path) -> Path:
    return staging.with_name(staging.name + ".lock")


def claim_staging(staging: str | Path) -> list[Path]:
    """Create ``staging`` and hold its lock; first remove the staging folders of the same target that their runs
    left when they were killed (their locks free).

    Returns:
        The abandoned staging folders removed (for the caller to say so).
    """
    staging = Path(staging)
    staging.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        staging.mkdir(exist_ok=True)
        return []
    target = staging.name.rsplit(".incoming-", 1)[0]
    removed = []
    for lock in sorted(staging.parent.glob(f"{glob.escape(target)}.incoming-*.lock")):
        with open(lock, "a") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its run is alive
            abandoned = lock.with_name(lock.name.removesuffix(".lock"))
            if abandoned.exists():
                shutil.rmtree(abandoned, ignore_errors=True)
                removed.append(abandoned)
            lock.unlink(missing_ok=True)
    file = open(_lock_path(staging), "a")  # noqa: SIM115 - held open until release_staging
    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _HELD[staging] = file
    staging.mkdir(exist_ok=True)
    return removed


def release_staging(staging: Path) -> None:
    """Remove ``staging``'s lock once the folder is swapped in or deleted (nothing to do if it was never claimed)."""
    file = _HELD.pop(Path(staging), None)
    if file is not None:
        _lock_path(Path(staging)).unlink(missing_ok=True)
        file.close()


def discard_staging(staging: Path) -> None:
    """Delete a failed run's ``staging`` folder and its lock."""
    shutil.rmtree(staging, ignore_errors=True)
    release_staging(staging)


def swap_in(staging: Path, folder: Path) -> None:
    """Put the folder ``staging`` in the place of ``folder``, whose old content is then deleted whole.

    Two renames on one file system: between them (microseconds) ``folder`` is absent, never mixed.
    """
    folder = Path(folder)
    if not folder.exists():
        os.replace(staging, folder)
        release_staging(staging)
        return
    old = folder.parent / f".{folder.name}.replaced-{uuid.uuid4().hex[:8]}"
    os.replace(folder, old)
    os.replace(staging, folder)
    release_staging(staging)
    shutil.rmtree(old, ignore_errors=True)
