"""The Space's README front matter and requirements: what the Hub reads to build and describe the Space."""

from __future__ import annotations

import json
import re

import gradio
from huggingface_hub import SpaceCard
from packaging.requirements import Requirement

from tests.space.conftest import SPACE_DIR


def test_front_matter_is_a_valid_gradio_space_on_the_installed_gradio():
    card = SpaceCard.load(SPACE_DIR / "README.md")
    data = card.data.to_dict()
    assert data["sdk"] == "gradio"
    assert data["sdk_version"] == gradio.__version__
    assert (SPACE_DIR / data["app_file"]).is_file()
    assert data["title"] and data["emoji"] and data["license"]
    assert len(data["models"]) == 1 and data["models"][0].count("/") == 1
    # The README documents that same model as the default MODEL, and how to run the app locally.
    assert f"`{data['models'][0]}`" in card.text and "MODEL=runs/demo python space/app.py" in card.text


def requirement_names(name: str) -> set[str]:
    lines = (SPACE_DIR / name).read_text().splitlines()
    return {Requirement(line).name for line in lines if line and not line.startswith(("#", "--"))}


def test_requirements_name_what_each_backend_imports_beyond_gradio():
    onnx, torch = requirement_names("requirements.txt"), requirement_names("requirements-torch.txt")
    shared = {"tokenizers", "numpy", "huggingface_hub", "mcp"}
    assert shared | {"onnxruntime"} <= onnx and not onnx & {"torch", "transformers"}
    assert shared | {"torch", "transformers"} <= torch
    assert "gradio" not in onnx | torch  # the Space's sdk_version installs gradio
    # The CPU build of torch: its index is searched beside PyPI, and its 2.x.y+cpu wins over PyPI's 2.x.y.
    torch_lines = (SPACE_DIR / "requirements-torch.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in torch_lines


def test_readme_has_an_mcp_client_configuration_for_the_space():
    text = (SPACE_DIR / "README.md").read_text(encoding="utf-8")
    block = text.split("```json\n", 1)[1].split("```", 1)[0]
    [server] = json.loads(block)["mcpServers"].values()
    assert re.fullmatch(r"https://[a-z0-9-]+\.hf\.space/gradio_api/mcp/", server["url"])
    assert "MCP=1 MODEL=runs/demo python space/app.py" in text
