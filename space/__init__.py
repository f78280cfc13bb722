"""The Gradio Space: the app (``app.py``), its backends, and the flag store (``flags.py``), deployed alone.

Its modules import each other as top-level modules (``import flags``), as on a Space, whose root is this
folder. Imported as the package ``space`` (``python -m space.flags``, an installed toolkit, ``emotk``), it puts
this folder first on ``sys.path``, so that those imports find these modules wherever the package lies.

:func:`serve` is ``emotk serve MODEL``: the app on MODEL, run as ``MODEL=MODEL python space/app.py`` runs it.
This file is never uploaded to a Space (``publish`` uploads the app's modules, not the package's ``__init__``).
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parent
if str(SPACE_DIR) not in sys.path:
    sys.path.insert(0, str(SPACE_DIR))

APP = SPACE_DIR / "app.py"
SERVE_HELP = """Serve the Space's app (probability bars, tokens, flagging) on MODEL, by default at http://127.0.0.1:7860.

The rest of the app's configuration comes from the environment, as on a Space (space/README.md): BACKEND,
FLAG_DIR, FLAG_DATASET_REPO, MCP and the FLAG_* limits.
"""
SERVE_EXAMPLES = """examples:
    %(prog)s runs/demo
    %(prog)s me/distilbert-emotion --port 8080
    FLAG_DIR=flags/ BACKEND=onnx-int8 %(prog)s runs/emotion --host 0.0.0.0
"""


def serve(argv: list[str] | None = None, prog: str = "emotk serve") -> int:
    """Run the app on MODEL until it is stopped, as ``MODEL=MODEL python space/app.py`` does.

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors.

    Returns:
        The exit status, 0 (a configuration the app cannot start with exits 1 with one line, as app.py does).
    """
    parser = argparse.ArgumentParser(
        prog=prog, description=SERVE_HELP, epilog=SERVE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", metavar="MODEL", help="a folder written by `python -m training`, or a Hub model id")
    # The app reads its configuration from the environment; gradio's launch() reads these two.
    parser.add_argument(
        "--port", type=int, help="port to listen on (GRADIO_SERVER_PORT; default: 7860 or the next free)"
    )
    parser.add_argument(
        "--host", help="address to listen on (GRADIO_SERVER_NAME; default: 127.0.0.1; 0.0.0.0: every network)"
    )
    args = parser.parse_args(argv)
    os.environ["MODEL"] = args.model
    for name, value in (("GRADIO_SERVER_PORT", args.port), ("GRADIO_SERVER_NAME", args.host)):
        if value is not None:
            os.environ[name] = str(value)
    runpy.run_path(str(APP), run_name="__main__")
    return 0
