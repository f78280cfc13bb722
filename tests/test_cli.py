"""The one console command (`emotk`), the options every command spells alike, the options no longer ignored in
silence, and the installable package."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from emotk.__main__ import COMMANDS, main
from tests.conftest import REPO_ROOT, write_splits
from tests.hub_server import TEST_TOKEN
from training.config import parse_config, single_label_notes
from training.errors import ToolkitError

# Each emotk subcommand and the command it is, as run before emotk (and still).
PYTHON_COMMANDS = {
    "train": "python -m training",
    "predict": "python -m training.predict",
    "ask": "python -m training.ask",
    "audit": "python -m training.audit",
    "export": "python -m training.export",
    "compare": "python -m training.compare",
    "publish": "python -m publish",
    "flags": "python -m space.flags",
    "serve": None,  # MODEL=... python space/app.py takes no arguments
}


def help_of(argv: list[str], capsys) -> str:
    """What ``emotk ARGV`` prints for --help (argparse exits 0 after it)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    return capsys.readouterr().out


def examples_at_the_end(help_text: str) -> list[str]:
    """The example lines that end a help text (after its last "examples:" line)."""
    head, _, examples = help_text.rpartition("\nexamples:\n")
    assert head, "no examples section"
    return examples.rstrip("\n").splitlines()


def test_emotk_help_lists_the_nine_commands_and_imports_none_of_them():
    code = (
        "import sys\n"
        "from emotk.__main__ import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exit_:\n"
        "    print('exit', exit_.code)\n"
        "print(sorted(name for name in ('training', 'publish', 'space', 'torch', 'gradio') if name in sys.modules))\n"
    )
    env = {**os.environ, "COLUMNS": "200"}  # one line per command
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("exit 0\n[]")
    listed = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines() if line.startswith("    ")}
    assert (
        set(COMMANDS)
        == set(PYTHON_COMMANDS)
        == {
            "train",
            "predict",
            "ask",
            "audit",
            "export",
            "compare",
            "publish",
            "flags",
            "serve",
        }
    )
    for name, command in COMMANDS.items():
        assert listed[name] == command.summary


def test_emotk_without_a_known_command_is_a_usage_error(capsys):
    for argv in ([], ["trian"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    assert "invalid choice: 'trian'" in capsys.readouterr().err


def test_emotk_predict_never_imports_the_space():
    code = (
        "import sys\n"
        "from emotk.__main__ import main\n"
        "try:\n"
        "    main(['predict', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(name for name in ('space', 'flags', 'gradio', 'publish') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    assert "usage: emotk predict" in result.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommands_help_is_its_own_named_emotk_sub_and_ends_with_examples(name, capsys):
    shown = help_of([name, "--help"], capsys)
    assert shown.startswith(f"usage: emotk {name} ")
    examples = examples_at_the_end(shown)
    assert 2 <= len(examples) <= 5
    ours = [line for line in examples if f"emotk {name} " in line]
    assert len(ours) >= 2 and all(line.startswith("    ") for line in examples)
    if PYTHON_COMMANDS[name]:
        assert not any(f"{PYTHON_COMMANDS[name]} " in line for line in examples)  # written with its prog


@pytest.mark.parametrize("sub", ["export", "pull", "review"])
def test_each_flags_commands_help_ends_with_its_examples(sub, capsys):
    examples = examples_at_the_end(help_of(["flags", sub, "--help"], capsys))
    assert len(examples) == 2 and all(line.startswith(f"    emotk flags {sub} ") for line in examples)


@pytest.mark.parametrize("name", [name for name, command in PYTHON_COMMANDS.items() if command])
def test_the_python_m_commands_keep_their_names_and_end_with_examples(name, capsys):
    module, function = COMMANDS[name].target.split(":")
    with pytest.raises(SystemExit) as exit_:
        getattr(importlib.import_module(module), function)(["--help"])  # as `python -m` calls it: no prog
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: {PYTHON_COMMANDS[name]} ")
    assert sum(f"{PYTHON_COMMANDS[name]} " in line for line in examples_at_the_end(shown)) >= 2


def test_python_m_training_predict_still_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "training.predict", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m training.predict ")


def test_emotk_serve_runs_the_space_app_on_model_as_make_demo_does(monkeypatch, tmp_path):
    import space

    for name in ("MODEL", "GRADIO_SERVER_PORT", "GRADIO_SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)  # and restored after the test
    runs = []
    monkeypatch.setattr(space.runpy, "run_path", lambda path, run_name: runs.append((path, run_name, dict(os.environ))))
    assert main(["serve", str(tmp_path / "run"), "--port", "7999", "--host", "0.0.0.0"]) == 0
    path, run_name, env = runs[0]
    assert (Path(path), run_name) == (REPO_ROOT / "space" / "app.py", "__main__")
    assert (env["MODEL"], env["GRADIO_SERVER_PORT"], env["GRADIO_SERVER_NAME"]) == (
        str(tmp_path / "run"),
        "7999",
        "0.0.0.0",
    )


# ----------------------------------------------------------------------------- --repo-id everywhere


@pytest.mark.parametrize("spelling", ["--repo-id", "--hub-model-id", "--hub_model_id"])
def test_train_takes_repo_id_and_its_earlier_spelling(spelling):
    config, user_set = parse_config(["--push-to-hub", spelling, "me/distilbert-emotion"])
    assert config.hub_model_id == "me/distilbert-emotion" and "hub_model_id" in user_set


def test_a_saved_train_config_json_keeps_its_hub_model_id_key(tmp_path):
    config, _ = parse_config(["--repo-id", "me/distilbert-emotion"])
    (tmp_path / "train_config.json").write_text(json.dumps({"config": dataclasses.asdict(config)}), encoding="utf-8")
    again, _ = parse_config(["--config", str(tmp_path / "train_config.json")])
    assert again.hub_model_id == "me/distilbert-emotion"


@pytest.mark.parametrize("spelling", ["--repo-id", "--repo"])
def test_flags_pull_takes_repo_id_and_its_earlier_spelling(spelling, hub_server, tmp_path):
    from tests.space.flag_writer import make_flag

    record = make_flag("i am so happy today")
    hub_server.create_repo(
        "tester/emotion-flags", "dataset", files={"data/flags-1.jsonl": (json.dumps(record) + "\n").encode()}
    )
    out = tmp_path / "pulled"
    assert main(["flags", "pull", spelling, "tester/emotion-flags", "--output-dir", str(out)]) == 0
    assert [json.loads(line)["id"] for line in (out / "flags-1.jsonl").read_text().splitlines()] == [record["id"]]
    assert TEST_TOKEN not in (out / "flags-1.jsonl").read_text()


# ----------------------------------------------------------------------------- options ignored in silence before


def test_label_separator_without_multi_label_is_a_config_error_in_training(tmp_path):
    message = "config error: --label-separator ';' is read only with --multi-label — add --multi-label"
    with pytest.raises(ToolkitError, match=message):
        parse_config(["--label-separator", ";"])
    with pytest.raises(ToolkitError, match="--label-separator ',' is read only"):  # even its default, when given
        parse_config(["--label-separator", ","])
    assert parse_config(["--multi-label", "--label-separator", ";"])[0].label_separator == ";"
    # A saved train_config.json holds every option: its default separator is not an option given.
    config, _ = parse_config(["--data", "my_tweets/"])
    (tmp_path / "train_config.json").write_text(json.dumps({"config": dataclasses.asdict(config)}), encoding="utf-8")
    assert parse_config(["--config", str(tmp_path / "train_config.json")])[0] == config
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"label_separator": "|"}), encoding="utf-8")
    with pytest.raises(ToolkitError, match=re.escape("--label-separator '|' is read only with --multi-label")):
        parse_config(["--config", str(tmp_path / "c.yaml")])


@pytest.mark.parametrize("command", ["predict", "ask"])
def test_label_separator_without_multi_label_is_a_usage_error_in_predict_and_ask(command, capsys, tmp_path):
    argv = [command, "runs/emotion", "in.csv", "--output", str(tmp_path / "out.csv"), "--label-separator", ";"]
    if command == "ask":
        argv += ["--budget", "3"]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines() == [  # one line, no usage before it
        f"emotk {command}: error: --label-separator ';' is read only with --multi-label — add --multi-label to read "
        "each label cell as names separated by it, or leave --label-separator out"
    ]
    assert not (tmp_path / "out.csv").exists()


def test_threshold_objective_on_single_label_data_is_a_note(capsys, tmp_path, tiny_backbone_dir, emotion_labels):
    default, _ = parse_config([])
    chosen, _ = parse_config(["--threshold-objective", "micro-f1"])
    assert single_label_notes(default) == []
    assert single_label_notes(chosen) == [
        "--threshold-objective micro-f1 is ignored: the data is single-label, and the option chooses how "
        "multi-label decision thresholds are tuned"
    ]
    # A whole run: the note is printed once, on stderr, and the run goes on.
    write_splits(tmp_path / "data", emotion_labels, (8, 3, 3))
    argv = ["train", "--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir)]
    argv += ["--output-dir", str(tmp_path / "out"), "--epochs", "1", "--threshold-objective", "micro-f1"]
    assert main(argv) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: --threshold-objective")]
    assert notes == [f"note: {single_label_notes(chosen)[0]}"]
    assert (tmp_path / "out" / "metrics.json").is_file()


# ----------------------------------------------------------------------------- the package


def test_the_wheel_holds_the_parts_their_data_and_the_emotk_command(tmp_path):
    """`pip wheel` of the product's files (as a checkout holds them), offline: no build isolation, no deps."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(REPO_ROOT / name, source / name)
    for package in ("emotk", "formats", "training", "publish", "space"):
        shutil.copytree(REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "whl")],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "whl").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "emotk/__main__.py",
        "formats/writing.py",
        "training/predict/__main__.py",
        "training/data/options.py",
        "publish/templates/model_card.md",
        "space/app.py",
        "space/README.md",
        "space/requirements.txt",
        "space/requirements-torch.txt",
    ):
        assert expected in names, expected
    assert not any(name.startswith(("tests/", "bench/", "data/")) for name in names)
    info = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "emotk = emotk.__main__:main" in zipfile.ZipFile(wheel).read(info).decode()
    metadata = zipfile.ZipFile(wheel).read(info.replace("entry_points.txt", "METADATA")).decode()
    assert "Requires-Dist: transformers<6,>=5.0" in metadata
