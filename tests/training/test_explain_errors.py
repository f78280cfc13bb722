"""errors.csv's words toward the wrong label (training/quality/explain_errors.py), single- and multi-label."""

from __future__ import annotations

import pandas as pd

from formats.explain import ERRORS_COLUMN
from training.quality.explain_errors import explain_errors, wrong_label


def keyword_model(texts):
    """joy when "glad" is there, fear when "scared" is; each label on its own (as a multi-label model's)."""
    return [{"joy": 0.9 if "glad" in t.split() else 0.1, "fear": 0.8 if "scared" in t.split() else 0.2} for t in texts]


def table(rows):
    return pd.DataFrame(rows, columns=["index", "text", "label", "predicted", "loss"])


def test_single_label_rows_name_the_words_that_raised_the_predicted_label_and_the_cap_holds():
    errors = table(
        [
            [0, "so glad but scared", "fear", "joy", 3.0],
            [1, "oh so glad", "joy", "joy", 2.0],
            [2, "glad glad", "fear", "joy", 1.0],
        ]
    )
    written = explain_errors(errors, keyword_model, multi_label=False, limit=1)
    assert list(written[ERRORS_COLUMN]) == ["glad", "", ""]  # the second wrong row is past the cap
    assert list(explain_errors(errors, keyword_model, multi_label=False)[ERRORS_COLUMN]) == ["glad", "", "glad glad"]


def test_a_multi_label_row_explains_its_most_probable_label_outside_the_gold_set():
    assert wrong_label("joy", "fear;joy", {"fear": 0.8, "joy": 0.9}, multi_label=True) == "fear"
    assert wrong_label("fear;joy", "joy", {"fear": 0.1, "joy": 0.9}, multi_label=True) is None  # only a miss
    assert wrong_label("", "fear", {"fear": 0.8}, multi_label=True) == "fear"
    errors = table([[0, "i am scared and glad", "joy", "fear;joy", 1.0], [1, "glad", "joy;fear", "joy", 0.5]])
    assert list(explain_errors(errors, keyword_model, multi_label=True)[ERRORS_COLUMN]) == ["scared", ""]
