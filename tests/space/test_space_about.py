"""The page's header reads the model's reports defensively (issue 29 item 6): a field of an unexpected shape is
left out of the header, never fatal — the app starts on a model folder whose reports hold such fields."""

from __future__ import annotations

import copy
import json
import shutil

import about
import backend
import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.space.conftest import start_app

FIXTURE_RUN = REPO_ROOT / "tests" / "fixtures" / "run"
LEARNT = "Learnt from `emotion/` (16,000 training texts)"
SCORED = "Test accuracy 91.9%, macro-F1 87.0% on 2,000 texts it never saw in training"
CALIBRATED = "probabilities calibrated: an answer shown at 80% is right about 8 times in 10"


@pytest.fixture
def reports() -> dict[str, dict]:
    """The fixture run's reports, as the app reads them from a model folder (a fresh copy to spoil)."""
    return copy.deepcopy(backend.model_reports(str(FIXTURE_RUN)))


def test_well_formed_reports_give_every_fact(reports):
    assert about.facts_line(reports) == f"{LEARNT} · {SCORED} · {CALIBRATED}"


def spoil_data_everywhere(reports):
    reports["train_config"]["data"] = "imdb"  # a plain string: nothing known about the data
    reports["metrics"]["data"] = "imdb"


def list_sizes(reports):
    reports["train_config"]["data"]["sizes"] = [16000, 2000, 2000]
    reports["metrics"]["data"]["sizes"] = [16000, 2000, 2000]


def calibration_yes(reports):
    reports["metrics"]["calibration"] = "yes"


def eval_a_list(reports):
    reports["metrics"]["eval"] = [{"accuracy": 0.9}]


def numbers_as_strings(reports):
    reports["metrics"]["eval"]["test"]["accuracy"] = "0.9185"
    reports["train_config"]["data"]["sizes"]["train"] = "16000"
    reports["metrics"]["data"]["sizes"]["train"] = "16000"


def test_data_as_a_plain_string_leaves_out_where_the_model_learnt_from(reports):
    spoil_data_everywhere(reports)
    assert about.facts_line(reports) == f"Test accuracy 91.9%, macro-F1 87.0% · {CALIBRATED}"
    assert about.is_demo_model(reports) is False


def test_data_of_train_config_alone_spoilt_falls_back_to_what_the_evaluation_says(reports):
    reports["train_config"]["data"] = "imdb"
    assert about.facts_line(reports) == f"{LEARNT} · {SCORED} · {CALIBRATED}"  # metrics.json names it too


def test_sizes_as_lists_leave_out_the_counts(reports):
    list_sizes(reports)
    assert about.facts_line(reports) == (f"Learnt from `emotion/` · Test accuracy 91.9%, macro-F1 87.0% · {CALIBRATED}")


def test_calibration_as_a_string_leaves_out_the_calibration(reports):
    calibration_yes(reports)
    assert about.facts_line(reports) == f"{LEARNT} · {SCORED}"
    reports["metrics"]["calibration"] = {"applied": "yes"}  # a word is no boolean either
    assert about.facts_line(reports) == f"{LEARNT} · {SCORED}"


def test_eval_as_a_list_leaves_out_the_scores(reports):
    eval_a_list(reports)
    assert about.facts_line(reports) == f"{LEARNT} · {CALIBRATED}"


def test_numbers_as_strings_are_left_out_one_by_one(reports):
    numbers_as_strings(reports)
    assert about.facts_line(reports) == (
        f"Learnt from `emotion/` · Test macro-F1 87.0% on 2,000 texts it never saw in training · {CALIBRATED}"
    )
    reports["metrics"]["eval"]["test"]["f1_macro"] = "87%"
    assert about.facts_line(reports) == f"Learnt from `emotion/` · {CALIBRATED}"


def test_reports_that_are_not_objects_give_an_empty_line():
    assert about.facts_line({"metrics": [1, 2], "train_config": "imdb"}) == ""
    assert about.facts_line({}) == ""


@pytest.mark.parametrize(
    "train_config, demo",
    [
        ({"data": {"synthetic_sample": True}}, True),
        ({"data": {"fallback": True}}, True),  # runs before synthetic_sample
        ({"data": {"synthetic_sample": "yes"}}, False),  # a word is no boolean: not claimed
        ({"data": "data/sample"}, False),
        ({"data": ["synthetic_sample"]}, False),
        ("imdb", False),
        (None, False),
    ],
)
def test_the_demo_rule_reads_only_booleans_and_never_raises(train_config, demo):
    assert about.is_demo_model({"train_config": train_config}) is demo


def page_markdown(url: str) -> str:
    config = httpx.get(url + "config", timeout=10).json()
    return "\n".join(str(c["props"].get("value")) for c in config["components"] if c["type"] == "markdown")


def test_the_app_starts_on_a_model_folder_whose_reports_have_odd_shapes(tiny_model_dir, tmp_path):
    model = shutil.copytree(tiny_model_dir, tmp_path / "odd-model")
    reports = backend.model_reports(str(FIXTURE_RUN))
    for spoil in (spoil_data_everywhere, calibration_yes, eval_a_list):
        spoil(reports)
    (model / "metrics.json").write_text(json.dumps(reports["metrics"]), encoding="utf-8")
    (model / "train_config.json").write_text(json.dumps(reports["train_config"]), encoding="utf-8")
    proc, url, output = start_app(MODEL=str(model), FLAG_DIR=str(tmp_path / "flags"))
    try:
        markdown = page_markdown(url)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert "# Tweet emotion classifier" in markdown and "Model `odd-model`" in markdown
    assert not [fact for fact in ("Learnt from", "accuracy", "calibrated", "demo model") if fact in markdown]
    assert "Traceback" not in "".join(output)
