"""Running without the Hub: ask it once, switch every library to offline mode, and say so loudly.

``--fallback-offline`` (the demo's setting) trains on the offline backbone and the bundled sample when the
Hub cannot be reached; the run must never do that silently.
"""

from __future__ import annotations

import os
import sys


def loud_fallback(problem: str, action: str) -> None:
    """Say, impossible to miss, that the run is not using what was asked for (once per job)."""
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    bar = "!" * 100
    print(f"\n{bar}\n!! FALLBACK: {problem}\n!! {action}\n{bar}\n", file=sys.stderr, flush=True)


def hub_reachable(timeout: float = 5.0) -> bool:
    """Whether the Hub endpoint answers at all (any HTTP status counts: it is there)."""
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    try:
        urllib.request.urlopen(f"{constants.ENDPOINT}/api/whoami-v2", timeout=timeout).close()
    except urllib.error.HTTPError:
        return True  # e.g. 401 without a token: reachable
    except OSError:
        return False
    return True


def use_offline_mode() -> None:
    """From now on huggingface_hub, transformers and datasets use only local files and caches.

    They read HF_HUB_OFFLINE when imported, so their module-level flags are switched too.
    """
    import datasets.config
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    datasets.config.HF_HUB_OFFLINE = True
