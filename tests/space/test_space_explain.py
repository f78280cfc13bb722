"""Why this label? /explain through gradio_client (single- and multi-label), its refusals and limits, and the
explanation's own queue."""

from __future__ import annotations

import explain_view
import flags
import pytest
import visitors
from gradio_client import Client
from gradio_client.exceptions import AppError

from formats.explain import explain
from tests.space.conftest import no_limits, serve

TEXT = "i am so delighted and glad today"


@pytest.fixture
def served_sets(app_module, multilabel_torch, tmp_path):
    """The app on the multi-label model: its URL."""
    demo = app_module.build_demo(multilabel_torch, flags.FlagStore(tmp_path), model_id="tiny/multi", policy=no_limits())
    yield serve(demo)
    demo.close()


def test_explain_is_listed_with_its_arguments_and_answers_every_word_with_a_score(served, tiny_backend):
    url, _ = served
    client = Client(url, verbose=False)
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(api) == {"/predict", "/explain"}
    assert [p["parameter_name"] for p in api["/explain"]["parameters"]] == ["text", "label"]
    assert api["/explain"]["description"].startswith("Explain which words of an English text")
    answer = client.predict(TEXT, api_name="/explain")
    scores = tiny_backend.predict([TEXT])[0]
    assert answer["label"] == max(scores, key=scores.get)
    assert answer["probability"] == pytest.approx(scores[answer["label"]], abs=1e-6)
    assert [word for word, _ in answer["words"]] == TEXT.split()
    assert all(isinstance(score, float) for _, score in answer["words"])
    # The scores sum to the label's probability on the text minus its probability on the empty text.
    empty = tiny_backend.predict([""])[0][answer["label"]]
    assert sum(score for _, score in answer["words"]) == pytest.approx(answer["probability"] - empty, abs=1e-6)
    assert answer == explain(TEXT, tiny_backend.predict).as_json()  # the one function, seeded: the same scores


def test_explain_answers_the_label_chosen(served, tiny_backend):
    url, _ = served
    client = Client(url, verbose=False)
    for label in ("fear", "surprise"):
        answer = client.predict(TEXT, label, api_name="/explain")
        assert answer["label"] == label
        assert answer["probability"] == pytest.approx(tiny_backend.predict([TEXT])[0][label], abs=1e-6)
        assert answer == explain(TEXT, tiny_backend.predict, label).as_json()


def test_explain_refuses_an_empty_text_a_too_long_one_and_an_unknown_label_in_one_line(served, app_module):
    url, _ = served
    client = Client(url, verbose=False)
    with pytest.raises(AppError, match=r"^Nothing to explain: the text is empty\.$"):
        client.predict("  ", api_name="/explain")
    cap = app_module.max_text_chars(app_module.model)
    with pytest.raises(AppError, match=rf"^The text is {cap + 1} characters long: the most this Space explains"):
        client.predict("a" * (cap + 1), api_name="/explain")
    with pytest.raises(AppError, match=r"^label 'joyy': expected one of sadness, joy"):
        client.predict(TEXT, "joyy", api_name="/explain")


def test_a_multi_label_model_explains_each_label_of_its_set_with_its_own_probability(served_sets, multilabel_torch):
    client = Client(served_sets, verbose=False)
    scores = multilabel_torch.predict([TEXT])[0]
    top = client.predict(TEXT, api_name="/explain")
    assert top["label"] == max(scores, key=scores.get)
    for label in multilabel_torch.labels:
        answer = client.predict(TEXT, label, api_name="/explain")
        assert answer["label"] == label and answer["probability"] == pytest.approx(scores[label], abs=1e-6)
        empty = multilabel_torch.predict([""])[0][label]
        assert sum(s for _, s in answer["words"]) == pytest.approx(scores[label] - empty, abs=1e-6)


def test_a_visitor_over_the_explanation_limit_is_told_to_wait(app_module, tiny_backend):
    policy = visitors.from_env({"EXPLAIN_LIMIT_PER_MINUTE": "2", "EXPLAIN_LIMIT_PER_DAY": "0", "FLAG_CLIENT_SALT": "s"})
    explainer = explain_view.Explainer(tiny_backend, policy, 1000, False)
    explainer.answer(TEXT, None, None)
    explainer.answer(TEXT, None, None)
    with pytest.raises(app_module.gr.Error, match=r"one visitor \(2 a minute\): ask again later"):
        explainer.answer(TEXT, None, None)
    assert visitors.from_env({}).explain_limiter.per_minute == visitors.EXPLAIN_PER_MINUTE
    with pytest.raises(ValueError, match=r"^EXPLAIN_LIMIT_PER_DAY='lots': expected a whole number >= 0"):
        visitors.from_env({"EXPLAIN_LIMIT_PER_DAY": "lots"})


def test_the_page_shows_each_word_scaled_with_spaces_between():
    shown = explain_view.highlighted([["so", 0.2], ["glad", -0.4], ["!", 0.0]])
    assert shown == [("so", 0.5), (" ", None), ("glad", -1.0), (" ", None), ("!", 0.0)]
    assert explain_view.highlighted([["meh", 0.0]]) == [("meh", 0.0)]


def test_explanations_have_a_queue_of_their_own_apart_from_predict(served, app_module, tiny_backend, tmp_path):
    demo = app_module.build_demo(tiny_backend, flags.FlagStore(tmp_path), model_id="tiny")
    by_name = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    assert by_name["explain"].concurrency_id == explain_view.CONCURRENCY_ID != by_name["predict"].concurrency_id
    explaining = [fn for fn in demo.fns.values() if fn.concurrency_id == explain_view.CONCURRENCY_ID]
    assert len(explaining) == 3  # after Classify, on picking a class, and /explain
    assert {fn.concurrency_limit for fn in explaining} == {explain_view.CONCURRENCY_LIMIT}


def test_the_page_explains_nothing_for_a_text_predict_refuses_and_sets_the_picker_otherwise(tiny_backend):
    explainer = explain_view.Explainer(tiny_backend, no_limits(), 100, False)
    for text in ("", "   ", "x" * 101):  # the page's own check already said why
        words, picker = explainer.for_page(text, None, None)
        assert words == [] and "value" not in picker
    words, picker = explainer.after_classify(TEXT, None)
    expected = explain(TEXT, tiny_backend.predict)
    assert picker["value"] == expected.label
    assert [word for word, _ in words[::2]] == TEXT.split() and all(space == (" ", None) for space in words[1::2])
    assert max(abs(score) for _, score in words[::2]) == 1.0
