"""An http(s) URL to a data file, downloaded once into the user cache and then read as a local file."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from training.data.readers import FORMATS
from training.errors import HubUnavailable, ToolkitError


def download(url: str) -> Path:
    """Download ``url`` once into the user cache; the file keeps the URL's name (its format).

    The bytes go to a temporary file beside the target, renamed over it when complete: a process that
    finds the target (another rank, another machine on a shared cache) never reads a partial file.
    """
    file_name = Path(urllib.parse.urlparse(url).path).name
    if Path(file_name).suffix.lower() not in FORMATS:
        raise ToolkitError(f"data error: {url}: the URL must end in a file name with one of {', '.join(FORMATS)}")
    target = Path.home() / ".cache" / "emotion-toolkit" / hashlib.sha256(url.encode()).hexdigest()[:16] / file_name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as err:
            raise HubUnavailable(f"data error: cannot download {url}: {err}") from None
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{file_name}.", delete=False) as partial:
            partial.write(data)
        os.replace(partial.name, target)  # atomic on one file system
    return target
