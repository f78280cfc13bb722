"""The app on tiny fixture models, driven by a real gradio_client over loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import backend
import flags
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.conftest import REPO_ROOT
from tests.space.conftest import RecordingBackend, serve, start_app

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> i feel so happy'


def confidences(result: dict) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in result["confidences"]}


def assert_same_scores(got: dict[str, float], expected: dict[str, float]) -> None:
    # Padding in a batch moves float32 probabilities by ~1e-8; the ranking and the shown values are identical.
    assert list(got) == list(expected)
    assert got == pytest.approx(expected, abs=1e-6)


def test_classify_formats_every_class_highest_first_and_answers_empty_texts(tiny_backend, app_module):
    texts = ["i feel happy", "", "   ", None, "so scared today"]
    results = app_module.classify(tiny_backend, texts)
    assert results[1] == results[2] == results[3] == app_module.EMPTY_TEXT
    for result, text in zip([results[0], results[4]], [texts[0], texts[4]], strict=True):
        assert list(result) == sorted(result, key=result.get, reverse=True)
        assert set(result) == set(tiny_backend.labels)
        assert sum(result.values()) == pytest.approx(1.0, abs=1e-6)
        assert_same_scores(result, tiny_backend.predict([text])[0])


def test_token_table_shows_wordpiece_tokens_with_ids_and_says_when_text_was_truncated(tiny_backend, app_module):
    rows, notice = app_module.token_table(tiny_backend, "I feel happy")
    ids = tiny_backend.tokenizer.token_to_id
    assert rows == [[token, ids(token)] for token in ["[CLS]", "i", "feel", "happy", "[SEP]"]]
    assert notice == ""
    long_text = " ".join(["happy"] * 100)  # 102 tokens with [CLS]/[SEP]; the tiny model reads 64
    rows, notice = app_module.token_table(tiny_backend, long_text)
    assert len(rows) == tiny_backend.max_length == 64 and rows[-1][0] == "[SEP]"
    assert notice == "⚠️ Your text is 102 tokens long: the model read only the first 64 and ignored the rest."
    assert app_module.token_table(tiny_backend, "  ") == ([], "")


def test_api_lists_predict_and_explain_and_flag_stays_callable_for_people(served, app_module):
    """/flag is undocumented: not on the API page, so not an MCP tool either; gradio_client still calls it."""
    url, store = served
    client = Client(url, verbose=False)
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/predict", "/explain"}
    assert api["unnamed_endpoints"] == {}
    [text] = api["named_endpoints"]["/predict"]["parameters"]
    assert text["parameter_name"] == "text" and text["python_type"]["type"] == "str"
    assert api["named_endpoints"]["/predict"]["description"].startswith("Classify the emotion of an English text")
    record_id = client.predict("i feel so happy", "joy", "", api_name="/flag")
    assert [r["id"] for r in store.records()] == [record_id]


def test_predict_returns_every_class_summing_to_one_equal_to_unbatched_backend(served, tiny_backend):
    url, _ = served
    client = Client(url, verbose=False)
    result = client.predict("i am so delighted and glad", api_name="/predict")
    scores = confidences(result)
    assert set(scores) == set(tiny_backend.labels)
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-6)
    assert result["label"] == next(iter(scores))
    assert_same_scores(scores, tiny_backend.predict(["i am so delighted and glad"])[0])


def test_concurrent_predicts_are_batched_and_each_client_gets_its_own_result(app_module, tiny_backend, tmp_path):
    slow = RecordingBackend(tiny_backend, delay=0.3)
    demo = app_module.build_demo(slow, flags.FlagStore(tmp_path), model_id="tiny")
    url = serve(demo)
    try:
        texts = [
            f"i feel {w} today {i}"
            for i, w in enumerate(
                ["happy", "scared", "lonely", "furious", "amazed", "loving", "glad", "nervous", "mad", "shocked"] * 2
            )
        ]
        client = Client(url, verbose=False)
        jobs = [client.submit(text, api_name="/predict") for text in texts]
        results = [job.result(timeout=60) for job in jobs]
    finally:
        demo.close()
    assert sum(slow.batch_sizes) == len(texts)
    assert max(slow.batch_sizes) > 1  # the queue grouped waiting requests into one forward pass
    for text, result in zip(texts, results, strict=True):
        assert_same_scores(confidences(result), tiny_backend.predict([text])[0])


def test_flag_stores_a_record_that_reads_back_exactly(served, tiny_backend):
    url, store = served
    client = Client(url, verbose=False)
    note = 'sarcasm? <b>bold</b> & "quotes"'
    record_id = client.predict(XSS, "anger", note, api_name="/flag")
    [rec] = store.records()
    expected_scores = tiny_backend.predict([XSS])[0]
    assert rec["id"] == record_id
    assert rec["text"] == XSS and rec["note"] == note  # stored verbatim, as data
    assert rec["corrected_label"] == "anger"
    assert rec["predicted_label"] == next(iter(expected_scores))
    assert rec["scores"] == pytest.approx(expected_scores, abs=1e-6) and set(rec["scores"]) == set(tiny_backend.labels)
    assert (rec["model"], rec["model_revision"]) == ("tiny/emotion", "abc123")
    assert rec["time"].endswith("Z")


def test_concurrent_flags_over_the_api_are_all_stored(served):
    url, store = served
    # One Client per call, as README tells API users: a Client shared between threads can cancel one thread's
    # call (CancelledError) when the server closes the session's event stream after another thread's call
    # completes. Eight threads still send their flags at once, each from its own session.
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: Client(url, verbose=False), range(40)))
        ids = list(pool.map(lambda i: clients[i].predict(f"tweet {i}", "joy", f"n{i}", api_name="/flag"), range(40)))
    records = store.records()
    assert sorted(ids) == sorted(r["id"] for r in records) and len(set(ids)) == 40
    assert {r["text"]: r["note"] for r in records} == {f"tweet {i}": f"n{i}" for i in range(40)}


@pytest.mark.parametrize(
    "args, message",
    [
        (("", "joy", ""), "Please type some text to classify"),
        (("   \n ", "joy", ""), "Please type some text to classify"),
        (("a tweet", "nope", ""), "Pick the correct label from the model's classes: sadness, joy"),
        (("x" * 1001, "joy", ""), "Flags take texts of up to 1000 characters; this one has 1001."),
        (
            ("a tweet", None, ""),
            "Pick the correct label from the model's classes: sadness, joy, love, anger, fear, surprise.",
        ),
    ],
)
def test_bad_flags_are_rejected_with_a_clear_message_and_store_nothing(served, args, message):
    url, store = served
    with pytest.raises(AppError, match=message.replace("(", r"\(").replace("?", r"\?")):
        Client(url, verbose=False).predict(*args, api_name="/flag")
    assert store.records() == []


def test_a_long_note_is_rejected(app_module, tiny_backend, tmp_path):
    store = flags.FlagStore(tmp_path)
    demo = app_module.build_demo(tiny_backend, store, model_id="tiny")
    flag = next(fn for fn in demo.fns.values() if fn.api_name == "flag").fn
    with pytest.raises(Exception, match=re.escape("The note is 501 characters long; keep it under 500.")):
        flag("a tweet", "joy", "x" * 501, None, None)  # the request and the sign-in, injected by gradio
    assert store.records() == []


def test_empty_text_to_predict_gets_a_message_not_a_crash(served):
    url, _ = served
    client = Client(url, verbose=False)
    for text in ["", "  \t "]:
        assert client.predict(text, api_name="/predict") == {
            "label": "Nothing to classify: the text is empty.",
            "confidences": None,
        }
    assert len(confidences(client.predict("still works", api_name="/predict"))) == 6


def test_nothing_assumes_six_emotions(app_module, tiny_bert_dir, tmp_path):
    three = backend.load_backend(str(tiny_bert_dir))
    store = flags.FlagStore(tmp_path)
    demo = app_module.build_demo(three, store, model_id="tiny/sentiment")
    url = serve(demo)
    try:
        client = Client(url, verbose=False)
        assert set(confidences(client.predict("a fine day", api_name="/predict"))) == {
            "negative",
            "neutral",
            "positive",
        }
        client.predict("a fine day", "neutral", "", api_name="/flag")
        with pytest.raises(AppError):
            client.predict("a fine day", "joy", "", api_name="/flag")
    finally:
        demo.close()
    assert [r["corrected_label"] for r in store.records()] == ["neutral"]


def test_page_shows_model_revision_backend_and_truncation_note(served, tiny_backend):
    import httpx

    url, _ = served
    config = httpx.get(url + "config", timeout=10).json()
    markdown = " ".join(str(c["props"].get("value")) for c in config["components"] if c["type"] == "markdown")
    assert "`tiny/emotion` @ `abc123`" in markdown and tiny_backend.name in markdown
    assert f"longer than {tiny_backend.max_length} tokens are truncated" in markdown
    [label] = [c for c in config["components"] if c["type"] == "label"]
    assert label["props"]["num_top_classes"] == len(tiny_backend.labels)
    dropdowns = {c["props"]["label"]: c for c in config["components"] if c["type"] == "dropdown"}
    assert set(dropdowns) == {"Correct label", "Explain the class"}
    for dropdown in dropdowns.values():
        assert [choice[0] for choice in dropdown["props"]["choices"]] == tiny_backend.labels


def test_python_space_app_py_serves_the_model_from_the_environment(tiny_model_dir, tmp_path):
    proc, url, output = start_app(MODEL=str(tiny_model_dir), FLAG_DIR=str(tmp_path / "flags"))
    try:
        client = Client(url, verbose=False)
        assert len(confidences(client.predict("hello", api_name="/predict"))) == 6
        record_id = client.predict("hello", "fear", "", api_name="/flag")
        assert [r["id"] for r in flags.read_records(tmp_path / "flags")] == [record_id]
        assert any("stay local" in line or "saved locally" in line for line in output)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_python_space_app_py_with_a_model_it_cannot_load_says_so_in_one_line(tmp_path):
    env = {**os.environ, "MODEL": str(tmp_path / "no-such-run"), "FLAG_DIR": str(tmp_path / "flags")}
    result = subprocess.run(
        [sys.executable, "space/app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: MODEL={tmp_path / 'no-such-run'}: no such folder")
    assert "MODEL=runs/demo" in result.stderr


def test_a_local_model_is_stored_and_shown_by_its_folder_name_only(
    app_module, tiny_backend, tiny_model_dir, tmp_path, tmp_path_factory
):
    """Flags are synced to a Hub dataset and exported: they must not carry the layout of this machine."""
    store = flags.FlagStore(tmp_path / "flags")
    demo = app_module.build_demo(tiny_backend, store, model_id=str(tiny_model_dir))
    flag = next(fn for fn in demo.fns.values() if fn.api_name == "flag").fn
    flag("a tweet", "joy", "", None, None)  # the request and the sign-in, injected by gradio
    [record] = store.records()
    assert record["model"] == tiny_model_dir.name
    flags.export(store.records(), tmp_path / "flags.csv")
    stored = [p.read_text(encoding="utf-8") for p in [*(tmp_path / "flags").glob("*.jsonl"), tmp_path / "flags.csv"]]
    for needle in (str(tmp_path_factory.getbasetemp()), str(Path.home())):
        assert all(needle not in content for content in stored)
    assert str(tiny_model_dir) not in json.dumps(demo.config) and f"`{tiny_model_dir.name}`" in json.dumps(demo.config)
