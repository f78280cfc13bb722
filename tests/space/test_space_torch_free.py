"""An exported model is served without torch or transformers: neither is imported, nor needed installed.

``without_torch.py`` runs the app as where they are not installed; the Space's own requirements for such a
model are tested where publish writes them (tests/publish/test_hub.py).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import backend
import pytest
from gradio_client import Client

from tests.conftest import REPO_ROOT
from tests.space.conftest import SPACE_DIR, start_app

UNINSTALLED = ("torch", "transformers")


@pytest.fixture
def onnx_env(monkeypatch):
    monkeypatch.delenv("BACKEND", raising=False)


def run_without_torch(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where torch and transformers are not installed, space/ importable."""
    prelude = (
        "import sys; sys.path.insert(0, 'tests/space'); import without_torch; without_torch.uninstall(); "
        "sys.path.insert(0, 'space')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=REPO_ROOT,
        env={**os.environ, "BACKEND": "", "FLAG_DATASET_REPO": "", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_app_on_an_onnx_model_imports_neither_torch_nor_transformers(trained_tiny_dir, tmp_path, onnx_env):
    code = (
        "import app\n"
        "print(app.model.name)\n"
        "print(app.classify(app.model, ['i feel so happy and glad'])[0])\n"
        "print(app.token_table(app.model, 'happy ' * 100)[1])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    result = run_without_torch(code, MODEL=str(trained_tiny_dir), FLAG_DIR=str(tmp_path / "flags"))
    assert result.returncode == 0, result.stderr
    name, scores, notice, imported = result.stdout.strip().splitlines()[-4:]
    assert name == "ONNX Runtime int8 (cpu)" and imported == "[]"
    expected = backend.load_backend(str(trained_tiny_dir)).predict(["i feel so happy and glad"])[0]
    assert ast.literal_eval(scores) == pytest.approx(expected, abs=1e-6)
    assert notice.startswith("⚠️ Your text is 102 tokens long")
    assert "blocked import" not in result.stderr  # nothing even tried (a try/except ImportError would hide it)


def test_the_served_onnx_space_classifies_and_flags_without_torch(trained_tiny_dir, tmp_path, onnx_env):
    proc, url, output = start_app(without_torch=True, MODEL=str(trained_tiny_dir), FLAG_DIR=str(tmp_path / "flags"))
    try:
        client = Client(url, verbose=False)
        result = client.predict("so scared and anxious today", api_name="/predict")
        record_id = client.predict("so scared and anxious today", "fear", "", api_name="/flag")
    finally:
        proc.kill()
        output += proc.stdout.readlines()
        proc.wait(timeout=30)
    expected = backend.load_backend(str(trained_tiny_dir)).predict(["so scared and anxious today"])[0]
    served = {item["label"]: item["confidence"] for item in result["confidences"]}
    assert served == pytest.approx(expected, abs=1e-4)  # int8: activations quantized per batch
    assert len(record_id) == 36
    assert not [line for line in output if "blocked import" in line]


def test_a_model_without_onnx_where_torch_is_not_installed_says_what_to_install(tiny_model_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "tests/space/without_torch.py", "space/app.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "MODEL": str(tiny_model_dir), "FLAG_DIR": str(tmp_path / "flags"), "BACKEND": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot load the model {str(tiny_model_dir)!r} with PyTorch (no onnx/ model found, or BACKEND=torch): "
        "torch and transformers are not installed — install space/requirements-torch.txt, or serve a model "
        "exported with `python -m training.export`"
    )


def module_level_imports(path) -> set[str]:
    """The top-level names a module imports when it is imported (not those inside its functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            names.add(node.module.split(".")[0])
    return names


def test_every_module_level_import_of_the_space_is_installed_by_its_onnx_requirements():
    """gradio comes with the Space (sdk_version); everything else it imports on start is in requirements.txt."""
    requirements = (SPACE_DIR / "requirements.txt").read_text(encoding="utf-8")
    listed = {line.split(">")[0].split("=")[0].strip() for line in requirements.splitlines() if line[:1].isalpha()}
    own = {path.stem for path in SPACE_DIR.glob("*.py")} | {"formats"}  # publish uploads formats/ beside app.py
    for path in SPACE_DIR.glob("*.py"):
        third_party = module_level_imports(path) - set(sys.stdlib_module_names) - own - {"gradio"}
        assert third_party <= listed, f"space/{path.name} imports {sorted(third_party - listed)} at module level"
        assert not third_party & set(UNINSTALLED)
