"""errors.csv's words: for the highest-loss misclassified examples, the words that pushed most toward the wrong label.

The explanation is ``formats.explain.explain``, the Space's own (sampled Shapley values over the text's words), on
the trained model through ``training.runtime.probability_rows``. Only the first :data:`EXPLAINED_ERRORS`
misclassified rows (highest loss first) are explained, so that evaluation stays cheap: each costs up to
``formats.explain.MAX_CALLS`` texts predicted.
"""

from __future__ import annotations

import pandas as pd

from formats.explain import ERRORS_COLUMN, Predict, explain
from formats.flag_record import SET_SEPARATOR
from training.runtime import probability_rows, torch_runner

EXPLAINED_ERRORS = 20  # misclassified rows explained; the card shows the 10 highest-loss rows


def model_predict(model, tokenizer, max_length: int, data) -> Predict:
    """The fine-tuned PyTorch model (put in eval mode: no dropout) as a ``predict(texts)`` over the labels of
    ``data`` (a ``LoadedData``: its ``labels`` and ``multi_label``)."""
    return probability_rows(torch_runner(model.eval()), tokenizer, max_length, data.labels, data.multi_label)


def wrong_label(gold: str, predicted: str, scores: dict[str, float], multi_label: bool) -> str | None:
    """The label the model got wrong: the predicted one when it is not gold; for a multi-label set, the most
    probable predicted label outside the gold set (None when the set only misses labels)."""
    if not multi_label:
        return predicted if predicted != gold else None
    gold_set = set(gold.split(SET_SEPARATOR)) if gold else set()
    extra = [label for label in predicted.split(SET_SEPARATOR) if label and label not in gold_set]
    return max(extra, key=scores.__getitem__) if extra else None


def explain_errors(
    table: pd.DataFrame, predict: Predict, *, multi_label: bool, limit: int = EXPLAINED_ERRORS
) -> pd.DataFrame:
    """``table`` (errors.csv, highest loss first) with :data:`formats.explain.ERRORS_COLUMN`: for the first
    ``limit`` rows whose prediction is wrong, the words that raised the wrong label's probability most
    (strongest first, separated by spaces); empty elsewhere.

    Args:
        table: the errors table (``index,text,label,predicted,loss``; sets as ``;``-joined names).
        predict: each text's ``{label: probability}`` on the saved model.
        multi_label: whether labels are sets.
        limit: how many misclassified rows to explain.
    """
    wrong = table.index[table["label"] != table["predicted"]][:limit]
    texts = [str(text) for text in table.loc[wrong, "text"]]
    scores = predict(texts) if texts else []
    column = pd.Series("", index=table.index, dtype=object)
    for row, text, score in zip(wrong, texts, scores, strict=True):
        label = wrong_label(str(table.at[row, "label"]), str(table.at[row, "predicted"]), score, multi_label)
        if label is not None and text.split():
            column[row] = " ".join(explain(text, predict, label).top_words())
    return table.assign(**{ERRORS_COLUMN: column})
