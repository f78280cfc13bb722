"""A short run on the real emotion data (slow: minutes on a 2-core CPU; needs ../shared/data/emotion)."""

import json

import pytest

from tests.conftest import SHARED_EMOTION
from training.__main__ import main


@pytest.mark.slow
@pytest.mark.shared_data
def test_offline_backbone_learns_the_real_emotions(tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "--data",
                str(SHARED_EMOTION),
                "--model",
                "offline",
                "--output-dir",
                str(out),
                "--max-train-samples",
                "3000",
                "--max-eval-samples",
                "500",
                "--epochs",
                "1",
                "--batch-size",
                "32",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labels"] == ["anger", "fear", "joy", "love", "sadness", "surprise"]
    majority = metrics["baselines"]["dummy"]["test"]["accuracy"]
    assert metrics["eval"]["test"]["accuracy"] > majority + 0.2  # far above always answering "joy"


@pytest.mark.shared_data
def test_real_data_duplicates_and_overlap_are_reported():
    from training.data.load import load_data

    data = load_data(str(SHARED_EMOTION))
    assert data.sizes() == {"train": 16000, "validation": 2000, "test": 2000}
    assert any(w.startswith("train: ") and "duplicate texts" in w for w in data.warnings)
    assert any(w.startswith("test: ") and "also appear in train" in w for w in data.warnings)
