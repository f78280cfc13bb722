"""The one rule every command that writes a file follows: never onto an input, never into a model's folder, and
never over an existing file unless told to (``--overwrite``).

Each part wraps the reason in its own one-line error (``training``'s ToolkitError, ``publish``'s PublishError,
the Space's FlagStoreError), so the rule and its words are the same everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from formats.output_folder import CONFIG_FILE, TRAIN_CONFIG_FILE, WEIGHTS_FILE

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
    target: str | Path, option: str, *, overwrite: bool, inputs: Iterable[Path] = (), own_folder: bool = False
) -> str | None:
    """Why ``target`` must not be written, in words for a one-line error, or None when it may be.

    Args:
        target: the file (or folder) the command is about to write.
        option: how the user named it (``--output``, ``--metrics``), for the message.
        overwrite: whether the user passed ``--overwrite``.
        inputs: the command's input files: never replaced, whatever ``overwrite`` says.
        own_folder: the command writes a file of the output folder's own contract into a run (training.export's
            ``onnx/``, training.compare's ``comparison.*``): a model folder is then the right place.
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
    if target.exists() and not overwrite:
        return f"{option} {target}: already exists — {OVERWRITE_HINT} {option}"
    return None
