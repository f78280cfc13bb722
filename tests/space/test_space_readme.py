"""The Space's README front matter and requirements: what the Hub reads to build and describe the Space."""

from __future__ import annotations

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


def test_requirements_name_what_the_app_imports_beyond_gradio():
    lines = [
        lab for lab in (SPACE_DIR / "requirements.txt").read_text().splitlines() if lab and not lab.startswith("#")
    ]
    names = {Requirement(line).name for line in lines}
    assert {"torch", "transformers", "huggingface_hub"} <= names
    assert "gradio" not in names  # the Space's sdk_version installs gradio
