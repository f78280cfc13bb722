"""formats/explain.py: the word-level explanation, against a hand computation on the tiny fixture model and on
models whose answers are known (redundant words, the call budget, reproducibility)."""

from __future__ import annotations

import pytest

from formats.explain import CALLS_PER_WORD, MAX_CALLS, call_budget, explain, split_words


@pytest.fixture(scope="module")
def trained_predict(trained_tiny_dir, emotion_labels):
    """The fitted tiny model through the training runtime (PyTorch): each text's {label: probability}."""
    from training.runtime import load_model, probability_rows, torch_runner

    model, tokenizer, max_length = load_model(trained_tiny_dir)
    return probability_rows(torch_runner(model), tokenizer, max_length, emotion_labels, multi_label=False)


class Counting:
    """A predict that counts the texts it is asked for, over a rule: ``rule(words) -> {label: probability}``."""

    def __init__(self, rule):
        self.rule, self.texts = rule, []

    def __call__(self, texts):
        self.texts += texts
        return [self.rule(text.split()) for text in texts]


def anger_if_any(words):
    """Anger when "furious" or "angry" is there (either alone carries it): the redundancy of the issue."""
    anger = 0.9 if {"furious", "angry"} & set(words) else 0.1
    return {"anger": anger, "joy": 1 - anger}


def test_two_words_get_the_mean_of_their_probability_drops_by_hand(trained_predict):
    """Exact Shapley for two words: each word's drop from the whole text and its rise from the empty one, halved."""
    text = "delighted glad"
    answer = explain(text, trained_predict, "joy")
    whole, first, second, empty = (row["joy"] for row in trained_predict([text, "delighted", "glad", ""]))
    assert answer.label == "joy" and answer.probability == pytest.approx(whole)
    assert answer.words == [
        ("delighted", pytest.approx(((whole - second) + (first - empty)) / 2)),
        ("glad", pytest.approx(((whole - first) + (second - empty)) / 2)),
    ]
    assert answer.calls == 4


def test_one_word_gets_its_whole_effect_and_the_top_class_is_the_default(trained_predict):
    answer = explain("scared", trained_predict)
    row, empty = trained_predict(["scared", ""])
    assert answer.label == max(row, key=row.get) == "fear"  # a fitted model
    assert answer.words == [("scared", pytest.approx(row["fear"] - empty["fear"]))]


def test_redundant_words_both_get_credit_where_leaving_one_out_sees_nothing():
    predict = Counting(anger_if_any)
    answer = explain("i am furious and so angry at them", predict)
    scores = dict(answer.words)
    assert scores["furious"] == pytest.approx(0.4) and scores["angry"] == pytest.approx(0.4)
    assert all(scores[word] == 0 for word in ("i", "am", "and", "so", "at", "them"))
    assert answer.top_words() == ["furious", "angry"]  # only words that raised the label
    assert len(predict.texts) == len(set(predict.texts)) == answer.calls  # each coalition predicted once


@pytest.mark.parametrize("n_words", [3, 12, 30, 60, 400])
def test_the_calls_stay_within_the_budget_and_the_scores_sum_to_the_whole_effect(n_words):
    words = [f"w{i}" for i in range(n_words - 1)] + ["furious"]
    predict = Counting(anger_if_any)
    answer = explain(" ".join(words), predict)
    assert answer.calls == len(predict.texts) <= call_budget(n_words) <= MAX_CALLS
    assert call_budget(n_words) == min(MAX_CALLS, CALLS_PER_WORD * n_words + 2)
    assert [word for word, _ in answer.words] == words
    assert sum(score for _, score in answer.words) == pytest.approx(0.9 - 0.1)
    # Past MAX_CALLS / 2 words the words move in groups along an order, sharing a group's effect: none outscores it.
    assert dict(answer.words)["furious"] == max(score for _, score in answer.words) > 0


def test_the_same_text_gives_the_same_scores_and_another_seed_other_orders():
    text = " ".join(f"w{i}" for i in range(20)) + " furious angry"

    def noisy(words):  # every word counts a little, by its position in the text: the orders matter
        anger = min(0.9, 0.1 + 0.3 * bool({"furious", "angry"} & set(words)) + 0.01 * len(words))
        return {"anger": anger, "joy": 1 - anger}

    first, again = explain(text, Counting(noisy)), explain(text, Counting(noisy))
    assert first == again
    assert explain(text, Counting(noisy), seed=1).words != first.words


def test_words_are_the_texts_own_with_punctuation_and_a_text_without_words_is_refused():
    assert split_words("  ugh,   i LOVE\tthis!! ") == ["ugh,", "i", "LOVE", "this!!"]
    with pytest.raises(ValueError, match="nothing to explain: the text has no words"):
        explain(" \n ", Counting(anger_if_any))
    with pytest.raises(ValueError, match=r"label 'joyy' is not a class of the model: expected one of anger, joy"):
        explain("so angry", Counting(anger_if_any), "joyy")
