"""Every command that writes follows one rule (formats/writing.py): never onto one of its inputs, never into a
model's folder, never over an existing file without --overwrite. The list below is every command that writes a
file a user names; each is tried against each case it can meet, and the target is left as it was."""

from __future__ import annotations

import json
import shutil

import pytest

from formats.writing import model_folder_of, write_refusal
from publish.__main__ import main as publish
from space.flags_cli import main as flags
from tests.conftest import REPO_ROOT
from tests.training.test_compare import runs  # noqa: F401 (a fixture: two run folders compare reads)
from training.__main__ import main as train
from training.ask.__main__ import main as ask
from training.compare import main as compare
from training.export import main as export
from training.predict.__main__ import main as predict

FIXTURE_RUN = REPO_ROOT / "tests" / "fixtures" / "run"  # a run's reports (no weights)
INSIDE = "is inside the model folder"
EXISTS = "already exists — pass --overwrite to replace it"
INPUT = "is one of this command's inputs"


@pytest.fixture
def model(tmp_path, tiny_model_dir):
    """A model's folder as training leaves it: the fixture run's reports and a tiny model."""
    folder = shutil.copytree(FIXTURE_RUN, tmp_path / "model")
    for item in tiny_model_dir.iterdir():  # config.json, model.safetensors, tokenizer files
        shutil.copy(item, folder / item.name)
    return folder


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("i am so happy;joy\ni feel low;sadness\n", encoding="utf-8")
    return path


@pytest.fixture
def flag_dir(tmp_path):
    folder = tmp_path / "flags"
    folder.mkdir()
    record = {"id": "1", "time": "2026-12-01T00:00:00.000000Z", "text": "so happy", "predicted_label": "joy"}
    record |= {"scores": {"joy": 1.0}, "corrected_label": "sadness", "note": "", "model": "m", "model_revision": None}
    (folder / "flags-1.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return folder


def exit_code(command, args: list[str]) -> int:
    """A command's exit status, whether its main returns it or exits with it (the Space's CLI)."""
    try:
        return command(args)
    except SystemExit as stop:
        return stop.code


def refused(code: int, capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()[-1]  # above it: a library's progress bar, if any
    assert code == 2 and "Traceback" not in err
    assert all(word in err for word in words), err
    return err


def unchanged(path, before: bytes) -> None:
    assert path.read_bytes() == before


# --- Into a model's folder: never, whatever --overwrite says ------------------------------------------------
def test_predict_metrics_onto_the_models_config_is_refused(model, texts, tmp_path, capsys):
    config = model / "config.json"
    before = config.read_bytes()
    args = [str(model), str(texts), "--output", str(tmp_path / "out.csv"), "--metrics", str(config), "--overwrite"]
    refused(predict(args), capsys, f"--metrics {config}", INSIDE)
    unchanged(config, before)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("command", "args"),
    [
        (predict, lambda m, t, f: [str(m), str(t), "--output", str(m / "labels.csv")]),
        (ask, lambda m, t, f: [str(m), str(t), "--budget", "1", "--output", str(m / "sheet.csv")]),
        (flags, lambda m, t, f: ["export", "--flag-dir", str(f), "--output", str(m / "flags.csv")]),
        (flags, lambda m, t, f: ["review", "--flag-dir", str(f), "--output", str(m / "review.csv")]),
        (flags, lambda m, t, f: ["pull", "--repo-id", "me/flags", "--output-dir", str(m / "flags")]),
        (publish, lambda m, t, f: [str(m), "--repo-id", "me/model", "--dry-run", str(m / "dry")]),
    ],
    ids=["predict", "ask", "flags-export", "flags-review", "flags-pull", "publish-dry-run"],
)
def test_no_command_writes_into_a_models_folder(command, args, model, texts, flag_dir, capsys):
    before = sorted(p.name for p in model.iterdir())
    code = exit_code(command, args(model, texts, flag_dir))
    assert code == 2
    assert INSIDE in capsys.readouterr().err
    assert sorted(p.name for p in model.iterdir()) == before


# --- Over an existing file: only with --overwrite --------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "args", "option"),
    [
        (predict, lambda m, t, out: [str(m), str(t), "--output", str(out)], "--output"),
        (
            predict,
            lambda m, t, out: [str(m), str(t), "--output", str(out.with_suffix(".jsonl")), "--metrics", str(out)],
            "--metrics",
        ),
        (ask, lambda m, t, out: [str(m), str(t), "--budget", "1", "--output", str(out)], "--output"),
    ],
    ids=["predict-output", "predict-metrics", "ask"],
)
def test_an_existing_file_is_never_replaced_unasked(command, args, option, model, texts, tmp_path, capsys):
    target = tmp_path / "mine.csv"
    target.write_text("mine\n", encoding="utf-8")
    refused(command(args(model, texts, target)), capsys, f"{option} {target}: {EXISTS}")
    assert target.read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize("sub", ["export", "review"])
def test_flags_never_replace_a_sheet_or_their_input(sub, flag_dir, tmp_path, capsys):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("accept,text\ny,mine\n", encoding="utf-8")
    refused(exit_code(flags, [sub, "--flag-dir", str(flag_dir), "--output", str(sheet)]), capsys, EXISTS)
    unchanged(sheet, b"accept,text\ny,mine\n")
    flag_file = flag_dir / "flags-1.jsonl"
    before = flag_file.read_bytes()
    code = exit_code(flags, [sub, "--flag-dir", str(flag_dir), "--output", str(flag_file), "--overwrite"])
    refused(code, capsys, INPUT)
    unchanged(flag_file, before)


def test_export_refuses_an_existing_onnx_folder(model, capsys):
    (model / "onnx").mkdir()
    (model / "onnx" / "model_int8.onnx").write_bytes(b"the model the Space serves")
    refused(export([str(model)]), capsys, f"export error: RUN_DIR {model / 'onnx'}: {EXISTS}")
    unchanged(model / "onnx" / "model_int8.onnx", b"the model the Space serves")


def test_compare_refuses_existing_comparison_files(runs, capsys):  # noqa: F811 (the imported fixture)
    baseline, candidate = runs
    assert compare([str(baseline), str(candidate)]) == 0
    capsys.readouterr()
    before = (candidate / "comparison.json").read_bytes()
    refused(compare([str(baseline), str(candidate)]), capsys, "compare error: --output-dir", EXISTS)
    unchanged(candidate / "comparison.json", before)
    assert compare([str(baseline), str(candidate), "--overwrite"]) == 0


def test_training_refuses_a_folder_holding_a_run(model, texts, capsys):
    refused(train(["--data", str(texts), "--output-dir", str(model)]), capsys, "holds a run already")


# --- The rule itself -----------------------------------------------------------------------------------
def test_the_rule(model, texts, tmp_path):
    assert model_folder_of(model / "sub" / "x.csv") == model.resolve()
    assert model_folder_of(tmp_path / "x.csv") is None
    assert write_refusal(tmp_path / "new.csv", "--output", overwrite=False) is None
    assert INPUT in write_refusal(texts, "--output", overwrite=True, inputs=[tmp_path / "." / "texts.txt"])
    assert EXISTS in write_refusal(texts, "--output", overwrite=False)
    assert write_refusal(texts, "--output", overwrite=True) is None
    assert write_refusal(texts, "--output", overwrite=False, resumable=True) is None
    assert write_refusal(model / "onnx", "RUN_DIR", overwrite=False, own_folder=True) is None
