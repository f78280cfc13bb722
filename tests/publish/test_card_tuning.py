"""The card's "How it was tuned": what --search found and how much --seeds moved the figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from publish.card import build_facts, render_card
from tests.publish.conftest import FIXTURE_RUN

SEARCH = {
    "objective": "validation f1_macro",
    "trials": 12,
    "complete": 9,
    "pruned": 3,
    "unfinished": 0,
    "seconds": 1830.0,
    "best": {"trial": 7, "value": 0.8123, "options": {"learning_rate": 0.00031, "epochs": 6, "class_weights": "none"}},
    "space": {"learning_rate": {"low": 2e-5, "high": 5e-4, "log": True}, "epochs": {"low": 2, "high": 8, "log": False}},
    "pinned": ["batch_size"],
    "importance": {"learning_rate": 0.71, "epochs": 0.29},
    "study": "emotk-0123456789ab",
    "storage": "sqlite",
}
SEEDS = {
    "seeds": [42, 43, 44],
    "kept_seed": 44,
    "kept_by": "median validation f1_macro (with an even count, the lower of the two middle ones)",
    "seconds": 300.0,
    "runs": [],
    "spread": {
        "validation": {"f1_macro": {"mean": 0.8, "std": 0.01}},
        "test": {"f1_macro": {"mean": 0.79, "std": 0.012}, "accuracy": {"mean": 0.85, "std": 0.004}},
    },
}


def card_of(tmp_path: Path, **entries) -> str:
    run = Path(shutil.copytree(FIXTURE_RUN, tmp_path / "run"))
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**metrics, **entries}))
    return str(render_card(build_facts(run, "tester/model")))


def tuning_section(card: str) -> str:
    return card.split("### How it was tuned\n", 1)[1].split("\n### ", 1)[0]


def test_a_searched_run_says_what_the_search_tried_and_chose(tmp_path):
    text = tuning_section(card_of(tmp_path, search=SEARCH))
    assert "`--search 12`" in text and "stopped\n3 of them early" in text and "(number 7, 81.23%)" in text
    assert "| `learning_rate` | 0.00031 | 2e-05 to 0.0005, log scale |" in text
    assert "| `epochs` | 6 | 2 to 8 |" in text and "| `class_weights` | none | not searched |" in text
    assert "`batch_size`" in text and "`learning_rate` 0.71, `epochs` 0.29." in text
    assert "trials.csv" not in text and "search.png" not in text  # not in this folder: not linked


def test_a_run_of_several_seeds_gives_mean_and_std_and_names_the_model_kept(tmp_path):
    text = tuning_section(card_of(tmp_path, seeds=SEEDS))
    assert "seeds 42, 43, 44" in text and "median validation f1\\_macro" in text and "seed 44" in text
    assert "on the test split" in text
    assert "| `f1_macro` | 79.00 | ± 1.20 |" in text and "| `accuracy` | 85.00 | ± 0.40 |" in text


def test_a_plain_run_has_no_tuning_section(tmp_path):
    assert "How it was tuned" not in card_of(tmp_path)
