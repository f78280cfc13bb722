"""--search N (Optuna trials, resumable after kill -9) and --seeds K (mean ± std, the median model kept)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from formats.output_folder import METRICS_FILE, SEARCH_FIGURE, STUDY_FILE, TRAIN_CONFIG_FILE, TRIALS_FILE
from publish.card import build_facts, render_card
from publish.hub import model_files
from tests.conftest import REPO_ROOT, write_splits
from training.__main__ import main
from training.config import TrainConfig
from training.paths import published_options
from training.tuning.search import search_home
from training.tuning.seeds import median_index, spread
from training.tuning.space import Range, default_space, read_space_file, recipe_trial, resolve_space

# A space small enough for seconds per trial on the tiny model; the learning rate still varies.
TINY_SPACE = "learning_rate: {low: 1e-4, high: 1e-2, log: true}\nepochs: [1, 2]\nbatch_size: [8]\nclass_weights: none\n"


def run_options(tmp_path, tiny_backbone_dir, emotion_labels, *options) -> list[str]:
    write_splits(tmp_path / "data", emotion_labels, (6, 2, 2))
    space = tmp_path / "space.yaml"
    space.write_text(TINY_SPACE, encoding="utf-8")
    return [
        "--data",
        str(tmp_path / "data"),
        "--model",
        str(tiny_backbone_dir),
        "--output-dir",
        str(tmp_path / "out"),
        "--report-to",
        "none",
        "--no-calibrate",
        "--search-space",
        str(space),
        *options,
    ]


def read_trials(folder) -> list[dict]:
    with (folder / TRIALS_FILE).open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_search_3_records_3_trials_and_trains_with_the_best(tmp_path, tiny_backbone_dir, emotion_labels):
    assert main(run_options(tmp_path, tiny_backbone_dir, emotion_labels, "--search", "3")) == 0
    out = tmp_path / "out"
    trials = read_trials(out)
    assert [row["trial"] for row in trials] == ["0", "1", "2"]
    assert all(row["state"] in ("complete", "pruned") and float(row["seconds"]) > 0 for row in trials)
    assert {row["batch_size"] for row in trials} == {"8"} and len({row["learning_rate"] for row in trials}) == 3
    search = json.loads((out / METRICS_FILE).read_text())["search"]
    best = max((row for row in trials if row["state"] == "complete"), key=lambda row: float(row["objective"]))
    assert search["best"]["trial"] == int(best["trial"]) and search["trials"] == 3
    config = json.loads((out / TRAIN_CONFIG_FILE).read_text())["config"]
    assert config["learning_rate"] == pytest.approx(float(best["learning_rate"]))
    assert config["epochs"] == float(best["epochs"]) and config["class_weights"] == "none"
    assert (out / SEARCH_FIGURE).is_file() and (out / STUDY_FILE).is_file()
    assert not search_home(out).exists()  # the search in progress is gone once the run is in place
    files = model_files(out)  # what publish uploads: the trials and their figure, not the local study
    assert TRIALS_FILE in files and SEARCH_FIGURE in files and STUDY_FILE not in files
    card = str(render_card(build_facts(out, "tester/model")))
    assert f"The best trial (number {search['best']['trial']}, " in card and "[`trials.csv`](trials.csv)" in card


def test_options_the_user_set_are_not_searched(tmp_path, tiny_backbone_dir, emotion_labels):
    options = run_options(tmp_path, tiny_backbone_dir, emotion_labels, "--search", "2", "--learning-rate", "0.003")
    assert main(options) == 0
    trials = read_trials(tmp_path / "out")
    assert {row["learning_rate"] for row in trials} == {""}
    search = json.loads((tmp_path / "out" / METRICS_FILE).read_text())["search"]
    assert search["pinned"] == ["learning_rate"] and "learning_rate" not in search["space"]


def test_a_search_killed_with_minus_9_resumes(tmp_path, tiny_backbone_dir, emotion_labels):
    """A real kill -9 of a search in a subprocess, once its first trial is in the study; the rerun adopts it."""
    options = run_options(tmp_path, tiny_backbone_dir, emotion_labels, "--search", "4")
    study = search_home(tmp_path / "out") / STUDY_FILE
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "training", *options], cwd=tmp_path, env=env)
    deadline = time.monotonic() + 240
    while finished_trials(study) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = finished_trials(study)
    assert 1 <= done_before < 4 and not (tmp_path / "out").exists()
    result = subprocess.run(
        [sys.executable, "-m", "training", *options], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{done_before} of 4 trials done" in result.stdout
    trials = read_trials(tmp_path / "out")
    assert sum(row["state"] in ("complete", "pruned") for row in trials) == 4


def finished_trials(study) -> int:
    if not study.is_file():
        return 0
    import sqlite3

    with sqlite3.connect(study) as db:
        try:
            return db.execute("select count(*) from trials where state in ('COMPLETE', 'PRUNED')").fetchone()[0]
        except sqlite3.OperationalError:  # the tables are not made yet
            return 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("batch_size: [16, 32.5]", "batch_size: expected a whole number, got 32.5"),
        ("learning_rate: {low: 1e-3, high: 1e-5}", "learning_rate: expected low <= high"),
        ("learning_rate: {low: 1e-5}", "learning_rate: expected {low: …, high: …, log: true|false}"),
        ("dropout: [0.1]", "unknown option 'dropout' — expected some of learning_rate, epochs"),
        ("class_weights: [balanced, inverse]", "class_weights: expected one of auto, balanced, none, got 'inverse'"),
        ("warmup_ratio: {low: 0, high: 1.5}", "warmup_ratio: expected in [0, 1), got 1.5"),
        ("learning_rate: [", "not valid YAML"),
        ("- 1\n- 2", "expected a mapping of options"),
    ],
)
def test_a_bad_search_space_file_is_one_line_naming_the_file_and_the_entry(
    tmp_path, capsys, content, expected, tiny_backbone_dir, emotion_labels
):
    space = tmp_path / "bad.yaml"
    space.write_text(content, encoding="utf-8")
    code = main(["--data", str(tmp_path), "--search", "2", "--search-space", str(space), "--output-dir", "x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"config error: --search-space {space}: ") and expected in err[0]


def test_a_storage_that_cannot_be_opened_is_one_line_without_its_password(
    tmp_path, capsys, tiny_backbone_dir, emotion_labels
):
    storage = "nosuchdatabase://me:secret@db.example.org/studies"
    options = run_options(tmp_path, tiny_backbone_dir, emotion_labels, "--search", "2", "--search-storage", storage)
    assert main(options) == 2
    err = capsys.readouterr().err
    assert "secret" not in err and "Traceback" not in err
    last = err.strip().splitlines()[-1]  # the lines above: the data summary's warnings, the head's new weights
    assert last.startswith("config error: --search-storage nosuchdatabase://db.example.org/studies: cannot open it")
    assert not (tmp_path / "out").exists()


def test_search_options_need_search(tmp_path, capsys):
    assert main(["--data", str(tmp_path), "--search-storage", "sqlite:///x.db", "--output-dir", "x"]) == 2
    assert capsys.readouterr().err.strip() == "config error: --search-storage needs --search N (the number of trials)"


def test_the_space_reads_numbers_yaml_leaves_as_text_and_fixes_single_values(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 1e-5, high: 1e-4, log: true}\nweight_decay: 0\n", encoding="utf-8")
    assert read_space_file(str(space)) == {"learning_rate": Range(1e-5, 1e-4, True), "weight_decay": 0.0}
    resolved = resolve_space(10_000_000, str(space), pinned={"batch_size"})
    assert resolved["learning_rate"] == Range(1e-5, 1e-4, True) and "batch_size" not in resolved


def test_the_first_trial_is_the_default_recipe(tmp_path, tiny_backbone_dir, emotion_labels):
    """The recipe a search is meant to improve is its trial 0: the options as the run has them (class weights
    ``auto`` as this data takes them), wherever the space holds them; the others are drawn."""
    options = run_options(tmp_path, tiny_backbone_dir, emotion_labels, "--search", "2")
    (tmp_path / "space.yaml").write_text(
        "learning_rate: {low: 1e-5, high: 1e-2, log: true}\nepochs: [1, 2]\nbatch_size: [8, 64]\n"
        "class_weights: [balanced, none]\n",
        encoding="utf-8",
    )
    assert main(options) == 0
    first = read_trials(tmp_path / "out")[0]
    assert float(first["learning_rate"]) == pytest.approx(TrainConfig(data="x").learning_rate)
    assert first["batch_size"] == "64"
    assert first["class_weights"] == "balanced"  # auto, for single-label data
    defaults = TrainConfig(data="x")
    assert float(first["warmup_ratio"]) == defaults.warmup_ratio
    assert float(first["weight_decay"]) == pytest.approx(defaults.weight_decay)
    assert first["epochs"] in ("1", "2")  # the default plans 10 epochs for 36 texts: not in this space, so drawn


def test_the_recipe_trial_keeps_only_values_the_space_holds():
    space = {"learning_rate": Range(1e-5, 1e-4, True), "epochs": Range(2, 6), "batch_size": (32, 64), "seed": 3}
    recipe = {"learning_rate": 2e-5, "epochs": 10, "batch_size": 64, "warmup_ratio": 0.1}
    assert recipe_trial(space, recipe) == {"learning_rate": 2e-5, "batch_size": 64}


def test_the_epochs_searched_reach_the_default_recipe_s_plan_for_small_data():
    assert default_space(22_000_000, planned_epochs=10)["epochs"] == Range(2, 10)  # 2,000 texts: 10 epochs planned
    assert default_space(22_000_000, planned_epochs=3)["epochs"] == Range(2, 6)
    assert default_space(67_000_000, planned_epochs=3)["epochs"] == Range(2, 5)


def test_a_small_backbone_searches_higher_learning_rates_than_a_base_sized_one():
    small, base = default_space(22_000_000)["learning_rate"], default_space(67_000_000)["learning_rate"]
    assert small.high > base.high and small.low > base.low


def test_seeds_2_reports_mean_and_std_and_keeps_the_median_model(tmp_path, tiny_backbone_dir, emotion_labels):
    write_splits(tmp_path / "data", emotion_labels, (6, 2, 2))
    out = tmp_path / "out"
    options = ["--epochs", "2", "--batch-size", "8", "--learning-rate", "0.005", "--seeds", "2", "--report-to", "none"]
    assert (
        main(["--data", str(tmp_path / "data"), "--model", str(tiny_backbone_dir), "--output-dir", str(out), *options])
        == 0
    )
    metrics = json.loads((out / METRICS_FILE).read_text())
    seeds = metrics["seeds"]
    assert seeds["seeds"] == [42, 43] and [run["seed"] for run in seeds["runs"]] == [42, 43]
    values = [run["eval"]["test"]["f1_macro"] for run in seeds["runs"]]
    assert seeds["spread"]["test"]["f1_macro"]["mean"] == pytest.approx(sum(values) / 2)
    assert seeds["spread"]["test"]["f1_macro"]["std"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5)
    kept = seeds["runs"][[42, 43].index(seeds["kept_seed"])]
    assert metrics["eval"]["validation"]["f1_macro"] == pytest.approx(kept["eval"]["validation"]["f1_macro"])


def test_the_median_is_the_lower_middle_one_and_spread_is_per_split():
    assert median_index([0.5, 0.9, 0.7]) == 2 and median_index([0.9, 0.5]) == 1 and median_index([0.6]) == 0
    figures = [{"test": {"accuracy": 0.5}}, {"test": {"accuracy": 0.7}}]
    assert spread(figures)["test"]["accuracy"] == pytest.approx({"mean": 0.6, "std": 0.1414213})


def test_train_config_json_holds_no_password_and_no_local_path_of_the_search_options():
    options = {"search_storage": "postgresql://me:secret@db.example.org/studies", "search_space": "/home/me/space.yaml"}
    assert published_options(options) == {
        "search_storage": "postgresql://db.example.org/studies",
        "search_space": "space.yaml",
    }
    assert (
        published_options({"search_storage": "sqlite:////home/me/tuned.db"})["search_storage"] == "sqlite:///tuned.db"
    )


def test_trials_record_a_pruned_trial_by_its_best_epoch_and_the_figure_draws_every_state(tmp_path):
    import optuna

    from training.tuning.report import draw, trial_rows

    study = optuna.create_study(direction="maximize")
    distribution = {"learning_rate": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)}
    study.add_trial(
        optuna.trial.create_trial(
            params={"learning_rate": 1e-4}, distributions=distribution, value=0.0, intermediate_values={1: 0.0}
        )
    )
    study.add_trial(
        optuna.trial.create_trial(
            params={"learning_rate": 3e-4},
            distributions=distribution,
            state=optuna.trial.TrialState.PRUNED,
            intermediate_values={1: 0.4, 2: 0.3},
            user_attrs={"seconds": 12.5},
        )
    )
    rows = trial_rows(study)
    assert [(row["state"], row["pruned"], row["objective"], row["epochs_evaluated"]) for row in rows] == [
        ("complete", False, 0.0, 1),
        ("pruned", True, 0.4, 2),
    ]
    assert rows[1]["seconds"] == 12.5 and rows[1]["learning_rate"] == 3e-4 and rows[1]["batch_size"] is None
    figure = draw(rows, {}, "f1_macro")
    trials_axis = figure.axes[0]
    assert len(trials_axis.collections) == 2  # complete and pruned points, a zero objective included
