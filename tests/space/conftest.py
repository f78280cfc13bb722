"""Space fixtures: the app's modules importable as the Space imports them, and the app served on loopback."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SPACE_DIR = REPO_ROOT / "space"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium, driven by Playwright in the browser tests
# The Space imports its neighbours as top-level modules (`import backend`, `import flags`).
if str(SPACE_DIR) not in sys.path:
    sys.path.insert(0, str(SPACE_DIR))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_module(tiny_model_dir, tmp_path_factory):
    """The `app` module, imported the way a Space runs it: MODEL and FLAG_DIR from the environment."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MODEL", str(tiny_model_dir))
    mp.setenv("FLAG_DIR", str(tmp_path_factory.mktemp("module-flags")))
    mp.delenv("FLAG_DATASET_REPO", raising=False)
    # Another test may have imported app.py with its own MODEL: run the module again with ours.
    app = importlib.reload(sys.modules["app"]) if "app" in sys.modules else importlib.import_module("app")
    yield app
    mp.undo()


@pytest.fixture(scope="session")
def tiny_backend(app_module):
    """The tiny six-class model as loaded by the app at start-up."""
    return app_module.model


@pytest.fixture(scope="session")
def multilabel_torch(multilabel_dir):
    """The multi-label model's PyTorch backend (exact probabilities, the same in every call)."""
    import backend

    mp = pytest.MonkeyPatch()
    mp.setenv("BACKEND", "torch")
    model = backend.load_backend(str(multilabel_dir))
    mp.undo()
    return model


@pytest.fixture(scope="module")
def chromium():
    """A real headless Chromium, launched once per module of browser tests (they skip where there is none)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A page in a browser context of its own: no cookie or storage of another test (a sign-in) carries over."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    yield context.new_page()
    context.close()


def start_app(
    *, without_torch: bool = False, app: Path = REPO_ROOT / "space" / "app.py", **env: str
) -> tuple[subprocess.Popen, str, list[str]]:
    """``python space/app.py`` on a free loopback port, ``env`` added to the environment (no Hub sync and the
    backend the model folder calls for, unless given); returns once it serves: the process, its URL and the
    lines it printed so far.

    A test whose subject is not the backend serves ``trained_tiny_dir``: exported to ONNX, it is served
    without importing torch or transformers, the cheapest start-up there is.

    ``without_torch``: as where torch and transformers are not installed (tests/space/without_torch.py).
    ``app``: the script (another copy: the Space as deployed, importing its own neighbours).
    """
    port = free_port()
    env = {
        **os.environ,
        "FLAG_DATASET_REPO": "",
        "BACKEND": "",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        **env,
    }
    wrapper = [str(REPO_ROOT / "tests" / "space" / "without_torch.py")] if without_torch else []
    proc = subprocess.Popen(
        [sys.executable, *wrapper, str(app)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    for line in proc.stdout:  # gradio prints the URL once it serves
        output.append(line)
        if f"http://127.0.0.1:{port}" in line:
            break
    assert proc.poll() is None, "".join(output)
    return proc, f"http://127.0.0.1:{port}/", output


def no_limits(**options):
    """A flag policy without rate limits (tests of storage send many flags from one address)."""
    import visitors

    return visitors.Visitors(salt=b"test-salt", limiter=visitors.RateLimiter(0, 0), **options)


def serve(demo):
    """Launch ``demo`` on a free loopback port; return its URL."""
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def served(app_module, tiny_backend, tmp_path):
    """The app on the tiny model with a fresh flag store, served on loopback: (url, store)."""
    import flags

    store = flags.FlagStore(tmp_path / "flags")
    demo = app_module.build_demo(
        tiny_backend,
        store,
        model_id="tiny/emotion",
        model_revision="abc123",
        policy=no_limits(),
    )
    url = serve(demo)
    yield url, store
    demo.close()


class RecordingBackend:
    """Wraps a backend and records every batch it is asked to classify (slow by ``delay`` seconds a call, so that
    requests queue up)."""

    def __init__(self, inner, delay: float = 0.0):
        self.inner, self.delay, self.batches = inner, delay, []
        self.name, self.labels, self.max_length, self.tokenizer = (
            inner.name,
            inner.labels,
            inner.max_length,
            inner.tokenizer,
        )
        self.thresholds = getattr(inner, "thresholds", None)

    @property
    def batch_sizes(self) -> list[int]:
        return [len(batch) for batch in self.batches]

    @property
    def lengths(self) -> list[int]:
        return [len(text) for batch in self.batches for text in batch]

    def predict(self, texts):
        self.batches.append(list(texts))
        time.sleep(self.delay)
        return self.inner.predict(texts)
