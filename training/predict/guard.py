"""What keeps a prediction from destroying or mixing data: its targets, its lock, its model fingerprint.

- ``--output`` and ``--metrics`` follow the write rule of every command (``formats.writing``): never one of the
  command's input files nor inside a model's folder, even with ``--overwrite``; ``--metrics`` never replaces a
  file without it. Their folders are created before any work, so nothing is lost at the end.
- ``OUT.lock`` beside the output (created with ``O_CREAT|O_EXCL``, holding the pid and host of the run,
  removed at the end) keeps two runs from writing one output; a lock left by a dead process of this host
  (``kill -9``) is taken over, and the run says so. Under torchrun only the main process takes it.
- the sha256 of the model's weights, recorded in the manifest: a resumed run refuses parts of other weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from formats.writing import write_refusal
from training.errors import ToolkitError

LOCK_SUFFIX = ".lock"
BLOCK = 1 << 20  # bytes hashed at a time


def prepare_targets(targets: dict[str, Path]) -> None:
    """Create the folders of ``targets`` (option -> path), before any work.

    Raises:
        ToolkitError: a folder that cannot be created (a file is in the way, no permission).
    """
    for option, path in targets.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            reason = "a file has that name" if isinstance(err, FileExistsError) else err.strerror
            raise ToolkitError(
                f"predict error: {option} {path}: cannot create the folder {path.parent} ({reason}) "
                f"— choose a {option} in a folder you can write"
            ) from None


def refuse_targets(targets: dict[str, Path], inputs: list[Path], overwrite: bool) -> None:
    """The write rule of every command (``formats.writing``) for each target (option -> path): never one of
    ``inputs``, never into a model's folder, and ``--metrics`` never over an existing file without ``overwrite``
    (an existing ``--output`` may be this command's run to resume: :meth:`Parts.start` judges it)."""
    for option, target in targets.items():
        refusal = write_refusal(target, option, overwrite=overwrite, inputs=inputs, resumable=option == "--output")
        if refusal:
            raise ToolkitError(f"predict error: {refusal}")


def sha256_of(files: list[Path]) -> str:
    """The sha256 of the bytes of ``files`` one after the other, read in blocks."""
    digest = hashlib.sha256()
    for file in files:
        with open(file, "rb") as source:
            while block := source.read(BLOCK):
                digest.update(block)
    return digest.hexdigest()


def weights_fingerprint(files: tuple[Path, ...]) -> dict:
    """What identifies the weights a run labels with: their file names and the sha256 of their bytes."""
    return {"files": [f"{file.parent.name}/{file.name}" for file in files], "sha256": sha256_of(list(files))}


@dataclass
class OutputLock:
    """``OUT.lock``, held by this process until :meth:`release`."""

    path: Path
    holder: dict

    def release(self) -> None:
        """Remove the lock, if it is still this run's."""
        if read_holder(self.path, tries=1) == self.holder:
            self.path.unlink(missing_ok=True)


def lock_output(out: Path) -> OutputLock:
    """Take ``OUT.lock``, or refuse with one line naming the run that holds it.

    A lock whose process is no longer running on this host is taken over, with a note on stderr.
    """
    path = out.with_name(out.name + LOCK_SUFFIX)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for _ in range(5):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            other = read_holder(path)
            if other is None:
                continue  # removed meanwhile: try again
            if not is_stale(other):
                raise ToolkitError(held_message(out, path, other)) from None
            print(
                f"note: {path} was left by pid {other['pid']} on this host, which is no longer running "
                "— taking it over",
                file=sys.stderr,
            )
            path.unlink(missing_ok=True)
            continue
        except OSError as err:
            raise ToolkitError(f"predict error: --output {out}: cannot create {path} ({err.strerror})") from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(holder))
        return OutputLock(path, holder)
    raise ToolkitError(f"predict error: --output {out}: {path} keeps changing — is another run starting?")


def read_holder(path: Path, tries: int = 20) -> dict | None:
    """The content of a lock file; ``{}`` when it does not say who holds it, None when it is gone.

    A lock is written right after it is created: an empty one is read again for a moment.
    """
    for attempt in range(tries):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            text = ""
        try:
            holder = json.loads(text)
        except ValueError:
            holder = None
        if isinstance(holder, dict) and isinstance(holder.get("pid"), int) and holder["pid"] > 0:
            return holder
        if attempt < tries - 1:
            time.sleep(0.05)
    return {}


def is_stale(holder: dict) -> bool:
    """Whether the lock's process is known to be gone: a pid of this host that no longer runs."""
    if not holder or holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # no permission: it runs, as another user
        return False
    return False


def held_message(out: Path, path: Path, holder: dict) -> str:
    """The one line refusing a second run on ``out``."""
    if not holder:
        return (
            f"predict error: --output {out}: {path} exists but does not say which run holds it "
            f"— if no run is writing {out}, delete {path}"
        )
    here = holder.get("host") == socket.gethostname()
    where = "this host" if here else f"host {holder.get('host')}"
    advice = "" if here else f"; if that run is gone, delete {path}"
    return (
        f"predict error: --output {out}: another run is writing it (pid {holder['pid']} on {where}, "
        f"since {holder.get('started', '?')}; lock {path}) — wait for it to end, or choose another --output{advice}"
    )
