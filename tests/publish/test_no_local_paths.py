"""Nothing publish pushes names a folder of this machine (README: "The output folder"), for a run given absolute paths.

One tiny run trained with absolute --data, --model, --output-dir and --corrections, exported to ONNX and
compared, then published with --dry-run: every file of the dry run is scanned for the test's temporary
folder and the home folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from publish.__main__ import main as publish_main
from tests.conftest import make_texts
from training.__main__ import main as train_main
from training.compare import main as compare_main

TINY_OPTIONS = ["--epochs", "1", "--learning-rate", "5e-3", "--batch-size", "8", "--eval-batch-size", "16"]


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_backbone_dir, emotion_labels):
    """(run folder, dry-run folder) of a run whose every path option was absolute."""
    root = tmp_path_factory.mktemp("absolute")
    data = root / "my_tweets"
    data.mkdir()
    for name, per_class, seed in (("train", 8, 1), ("validation", 3, 2), ("test", 3, 3)):
        rows = make_texts(emotion_labels, per_class, seed=seed)
        (data / f"{name}.txt").write_text("".join(f"{t};{lab}\n" for t, lab in rows), encoding="utf-8")
    flag = {"id": "1", "time": "2026-11-26T10:00:00Z", "text": rows[0][0], "corrected_label": "joy"}
    (root / "flags.jsonl").write_text(json.dumps(flag) + "\n", encoding="utf-8")
    run = root / "run"
    options = ["--data", str(data), "--model", str(tiny_backbone_dir), "--output-dir", str(run)]
    assert train_main([*options, "--corrections", str(root / "flags.jsonl"), "--export-onnx", *TINY_OPTIONS]) == 0
    assert compare_main([str(run), str(run)]) == 0  # comparison.json/.md name both runs
    assert publish_main([str(run), "--repo-id", "me/tweets", "--dry-run", str(root / "dry")]) == 0
    return run, root / "dry"


def local_paths_in(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    """For each file under ``folder`` that contains one of ``needles``, the needles it contains."""
    found = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = file.read_bytes()
        hits = [needle for needle in needles if needle.encode() in content]
        if hits:
            found[file.relative_to(folder).as_posix()] = hits
    return found


def test_no_pushed_file_holds_a_local_path(published, tmp_path_factory):
    _, dry = published
    pushed = {p.relative_to(dry).as_posix() for p in dry.rglob("*") if p.is_file()}
    assert {"README.md", "train_config.json", "metrics.json", "corrections.json", "comparison.json"} <= pushed
    assert {"onnx/model.onnx", "onnx/model_int8.onnx"} <= pushed  # their exporter stack traces named site-packages
    needles = [str(tmp_path_factory.getbasetemp()), str(Path.home())]
    assert local_paths_in(dry, needles) == {}


def test_local_data_and_model_are_named_by_their_folder(published, tiny_backbone_dir):
    _, dry = published
    card = (dry / "README.md").read_text(encoding="utf-8")
    assert "on a local dataset (`my_tweets/`)" in card
    saved = json.loads((dry / "train_config.json").read_text(encoding="utf-8"))
    assert saved["config"]["data"] == saved["data"]["source"] == "my_tweets/"
    assert saved["config"]["model"] == saved["backbone"]["resolved"] == f"{tiny_backbone_dir.name}/"
    assert (saved["config"]["output_dir"], saved["config"]["corrections"]) == ("run/", "flags.jsonl")


def test_full_paths_stay_in_a_file_that_is_never_pushed(published, tiny_backbone_dir):
    run, dry = published
    kept = json.loads((run / "local_paths.json").read_text(encoding="utf-8"))
    assert kept["data"] == str((run.parent / "my_tweets").resolve())
    assert kept["model"] == str(tiny_backbone_dir.resolve())
    assert not (dry / "local_paths.json").exists()
