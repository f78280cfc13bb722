"""Fixtures of the publish tests: a complete output folder (fixture reports + a tiny real model), a
Space app folder, and the local Hub server (``hub_server``, from tests/hub_server.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE_RUN = Path(__file__).resolve().parent.parent / "fixtures" / "run"


@pytest.fixture
def run_dir(tmp_path, tiny_model_dir) -> Path:
    """An output folder as training writes it: the fixture reports, a tiny model, an onnx/ folder, plus
    the clutter a real run leaves (checkpoints, logs) that must never be uploaded."""
    run = tmp_path / "runs" / "emotion"
    shutil.copytree(FIXTURE_RUN, run)
    for item in tiny_model_dir.iterdir():  # config.json, model.safetensors, tokenizer files
        shutil.copy(item, run / item.name)
    (run / "onnx").mkdir()
    (run / "onnx" / "model.onnx").write_bytes(b"onnx-fp32-stand-in" * 20)
    (run / "onnx" / "model_int8.onnx").write_bytes(b"onnx-int8-stand-in" * 5)
    shutil.copy(run / "config.json", run / "onnx" / "config.json")
    (run / "checkpoint-10").mkdir()
    (run / "checkpoint-10" / "optimizer.pt").write_bytes(b"not for upload")
    (run / "training_args.bin").write_bytes(b"not for upload")
    (run / "README.md").write_text("a stale card that must be replaced\n")
    (run / "runs").mkdir()
    (run / "runs" / "events.out.tfevents").write_bytes(b"logs")
    return run


@pytest.fixture
def space_dir(tmp_path) -> Path:
    """A Space app folder like space/, with a test folder, a cache and local flags beside the app."""
    space = tmp_path / "space"
    space.mkdir()
    (space / "__init__.py").write_text("")
    (space / "app.py").write_text("import os\nMODEL = os.environ.get('MODEL')\n")
    (space / "backend.py").write_text("# backend\n")
    (space / "flags.py").write_text("# flags\n")
    (space / "requirements.txt").write_text("transformers>=5.0\ngradio>=6.0\n")
    (space / "README.md").write_text(
        "---\ntitle: Tweet emotion\nemoji: 😊\nsdk: gradio\nsdk_version: 6.31.0\napp_file: app.py\n"
        "models:\n- me/distilbert-emotion\n---\n\n# Tweet emotion demo\n",
        encoding="utf-8",
    )
    for junk in ("tests/test_app.py", "__pycache__/app.cpython-311.pyc", "flags/flags-1.jsonl", ".gradio/x"):
        (space / junk).parent.mkdir(parents=True, exist_ok=True)
        (space / junk).write_text("not for upload")
    return space
