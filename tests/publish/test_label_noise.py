"""The card's sentences on label noise: training.audit's estimate, and --correct-eval's figures before and after."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from formats.output_folder import LABEL_NOISE_FILE, METRICS_FILE
from publish.card import build_facts, render_card
from tests.publish.conftest import FIXTURE_RUN

METHOD = "confident learning, 5-fold logistic regression on the fine-tuned embeddings"


def card_of(folder: Path) -> str:
    return str(render_card(build_facts(folder, "me/emotion")))


def test_an_audited_run_states_its_label_noise_in_one_sentence(tmp_path):
    run = Path(shutil.copytree(FIXTURE_RUN, tmp_path / "run"))
    assert "look wrong" not in card_of(run)
    estimate = {"splits": {"train": {"method": METHOD, "texts": 3000, "suspects": 126, "share": 0.042}}}
    (run / LABEL_NOISE_FILE).write_text(json.dumps(estimate), encoding="utf-8")
    sentences = [line for line in card_of(run).splitlines() if "look wrong" in line]
    assert sentences == [
        f"About 4.20% of the training labels ({METHOD}) look wrong (`python -m training.audit`; figure below)."
    ]


def test_corrected_evaluation_data_reports_the_figures_before_and_after(tmp_path):
    run = Path(shutil.copytree(FIXTURE_RUN, tmp_path / "run"))
    metrics = json.loads((run / METRICS_FILE).read_text())
    metrics["eval_before_corrections"] = {"test": {**metrics["eval"]["test"], "f1_macro": 0.5, "accuracy": 0.6}}
    (run / METRICS_FILE).write_text(json.dumps(metrics), encoding="utf-8")
    after = metrics["eval"]["test"]
    line = next(line for line in card_of(run).splitlines() if "--correct-eval" in line)
    assert "macro F1 50.00% and accuracy 60.00%" in line
    assert f"{100 * after['f1_macro']:.2f}% and {100 * after['accuracy']:.2f}%" in line
