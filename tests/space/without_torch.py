"""Run a script as on a machine where torch and transformers are not installed: ``python without_torch.py SCRIPT``.

Every import finder answers "not found" for them, so ``import torch`` raises ModuleNotFoundError and
``importlib.util.find_spec("torch")`` is None, as in a fresh virtual environment from the Space's ONNX
requirements. Each ``import`` statement of one is printed to stderr (``blocked import: torch``), so that a
test sees an import that a ``try``/``except ImportError`` around it would hide (asking whether it is
installed, with ``find_spec``, is no import and is not printed).
"""

from __future__ import annotations

import builtins
import runpy
import sys
from pathlib import Path

UNINSTALLED = ("torch", "transformers")


class NotInstalled:
    """Wraps an import finder: nothing of :data:`UNINSTALLED` is found through it."""

    def __init__(self, finder) -> None:
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in UNINSTALLED:
            return None
        find_spec = getattr(self.finder, "find_spec", None)
        return find_spec(name, path, target) if find_spec else None

    def __getattr__(self, attribute):  # invalidate_caches, find_distributions, ...
        return getattr(self.finder, attribute)


def uninstall() -> None:
    """Make torch and transformers look not installed to this process from now on."""
    assert not any(name.split(".")[0] in UNINSTALLED for name in sys.modules), "imported already"
    sys.meta_path[:] = [NotInstalled(finder) for finder in sys.meta_path]
    real_import = builtins.__import__

    def reporting_import(name, *args, **kwargs):
        if name.split(".")[0] in UNINSTALLED:
            print(f"blocked import: {name}", file=sys.stderr, flush=True)
        return real_import(name, *args, **kwargs)

    builtins.__import__ = reporting_import


if __name__ == "__main__":
    uninstall()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path[0] = str(Path(script).resolve().parent)  # as `python SCRIPT` would have it
    runpy.run_path(script, run_name="__main__")
