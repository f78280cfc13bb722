"""Local paths, and how they are named in what leaves this machine.

As README says ("The output folder"): anything that leaves the user's machine (what publish pushes,
what the Space stores) holds no absolute local path. So the files of the output folder that publish
uploads (``train_config.json``, ``metrics.json``, ``corrections.json``, ``comparison.*``) name local
data and models by their folder or file name (``my_tweets/``, ``tweets.csv``), and the full paths go into
``local_paths.json``, which publish never uploads: export and ``--config runs/x/train_config.json`` read
it to find the data again on this machine.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from formats.output_folder import LOCAL_PATHS_FILE

PATH_OPTIONS = ("data", "model", "output_dir", "corrections", "search_space")  # TrainConfig fields: local paths?
STORAGE_OPTIONS = ("search_storage",)  # database URLs: may hold a password, or a local file's path (sqlite)


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def can_only_be_local(value: str) -> bool:
    """Whether ``value`` cannot be a Hub id: absolute, ``.``/``..``/``~`` relative, or not ``name``/``ns/name``."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if is_url(value):
        return False
    if value.startswith((".", "~")) or Path(value).is_absolute():
        return True
    try:
        validate_repo_id(value)
    except HFValidationError:
        return True
    return False


def is_local(value: str) -> bool:
    """Whether ``value`` names something on this disk (an existing path, or one that can be nothing else)."""
    return not is_url(value) and (Path(value).expanduser().exists() or can_only_be_local(value))


def portable_name(value: str | None) -> str | None:
    """How ``value`` is named outside this machine.

    A local path becomes its last part (``/home/me/my_tweets`` -> ``my_tweets/``, a file keeps its
    name); a URL loses its query, fragment and credentials (a signed URL carries a token there); a Hub
    id, an alias or None stays as it is.
    """
    if value is None:
        return None
    if is_url(value):
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname or ""
        return urllib.parse.urlunsplit(
            (parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, "", "")
        )
    if not is_local(value):
        return value
    path = Path(value).expanduser()
    name = path.resolve().name  # ".", "runs/x/.." get their real name
    return f"{name}/" if path.is_dir() else name


def published_options(options: dict[str, Any]) -> dict[str, Any]:
    """TrainConfig options as ``train_config.json`` records them: local paths by :func:`portable_name`, database
    URLs by :func:`portable_storage`."""
    return {
        key: portable_name(value)
        if key in PATH_OPTIONS
        else portable_storage(value)
        if key in STORAGE_OPTIONS
        else value
        for key, value in options.items()
    }


def portable_storage(url: str | None) -> str | None:
    """A database URL without its user and password, and a SQLite file by its name
    (``postgresql://me:pw@db.example.org/studies`` -> ``postgresql://db.example.org/studies``)."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return f"{parts.scheme}:///{Path(parts.path).name}"
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def local_paths(options: dict[str, Any]) -> dict[str, str]:
    """The full paths of the options that name local files or folders (for ``local_paths.json``)."""
    return {
        key: str(Path(options[key]).expanduser().resolve())
        for key in PATH_OPTIONS
        if isinstance(options.get(key), str) and is_local(options[key])
    }


def with_local_paths(options: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Saved options of the run in ``run_dir`` with the full paths of its ``local_paths.json`` put back.

    Without that file (a run downloaded from the Hub) the options stay as saved.
    """
    file = run_dir / LOCAL_PATHS_FILE
    if not file.is_file():
        return options
    saved = json.loads(file.read_text(encoding="utf-8"))
    return {key: saved.get(key, value) if key in PATH_OPTIONS else value for key, value in options.items()}
