"""A real headless Chromium: classify a tweet, see a bar per class, flag it with another label, check the store."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_ROOT
from tests.hub_server import TEST_TOKEN, TEST_USER
from tests.space.conftest import CHROMIUM, no_limits, serve

ARTIFACTS = REPO_ROOT / "test-artifacts"
# Text and note are user data: if anything rendered them as HTML, these would set window.__xss.
TWEET = 'i feel so happy and glad today <img src=x onerror="window.__xss = 1"> <script>window.__xss = 2</script>'
NOTE = '<b onmouseover="window.__xss = 3">not sad</b>'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (install the Debian package `chromium`)"
    ),
]


def test_classify_and_flag_in_the_browser(served, tiny_backend, app_module, page):
    import page as page_module
    from playwright.sync_api import expect

    url, store = served
    labels = tiny_backend.labels
    expected = tiny_backend.predict([TWEET])[0]
    predicted = next(iter(expected))
    corrected = next(label for label in labels if label != predicted)

    page.goto(url)
    expect(page.get_by_text("tiny/emotion")).to_be_visible()
    tweet_box = page.get_by_role("textbox", name="Tweet")
    page.get_by_text(page_module.EXAMPLES[1], exact=True).click()  # an example fills the text box
    expect(tweet_box).to_have_value(page_module.EXAMPLES[1])
    tweet_box.fill(TWEET)
    page.get_by_role("button", name="Classify").click()

    # One bar per class, the top class as the heading.
    expect(page.locator(".confidence-set")).to_have_count(len(labels), timeout=30_000)
    for label in labels:
        expect(page.get_by_test_id(f"{label}-confidence-set")).to_be_visible()
    expect(page.get_by_test_id("label-output-value")).to_have_text(predicted)

    # The tokens panel, opened: WordPiece tokens of the text, HTML shown as inert pieces.
    page.get_by_text("How the tokenizer splits your text").click()
    expect(page.get_by_role("gridcell", name="[CLS]", exact=True).first).to_be_visible(timeout=10_000)

    # Flag it with another label and a note.
    page.get_by_label("Correct label").click()
    page.get_by_role("option", name=corrected, exact=True).click()
    page.get_by_role("textbox", name="Note (optional)").fill(NOTE)
    page.get_by_role("button", name="Flag", exact=True).click()
    record_id_box = page.get_by_role("textbox", name="Saved flag record id")
    expect(record_id_box).to_have_value(re.compile(r"^[0-9a-f-]{36}$"), timeout=30_000)
    expect(page.get_by_text("Your flag was saved with record id")).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "space_browser.png"), full_page=True)

    [record] = store.records()
    assert record["id"] == record_id_box.input_value()
    assert (record["text"], record["note"]) == (TWEET, NOTE)
    assert (record["predicted_label"], record["corrected_label"]) == (predicted, corrected)
    assert record["scores"] == pytest.approx(expected, abs=1e-6)

    # Nothing the user typed was interpreted as HTML or script anywhere on the page.
    page.mouse.move(0, 0)
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0


def test_sign_in_required_shows_the_button_and_signed_in_flags_carry_the_username(
    app_module, tiny_backend, hub_server, monkeypatch, tmp_path, page
):
    """Off a Space gradio mocks the sign-in with the machine's Hub login: here the local Hub server's user."""
    import flags
    import gradio.oauth
    from huggingface_hub import HfApi
    from playwright.sync_api import expect

    # The mock sign-in asks whoami() who the machine's token belongs to: the local Hub server answers.
    monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)
    monkeypatch.setattr(gradio.oauth, "whoami", HfApi(endpoint=hub_server.endpoint).whoami)
    store = flags.FlagStore(tmp_path / "flags")
    demo = app_module.build_demo(tiny_backend, store, model_id="tiny", policy=no_limits(require_login=True))
    url = serve(demo).replace("127.0.0.1", "localhost")  # a secure context: the session cookie is Secure
    try:
        page.goto(url)
        sign_in = page.get_by_role("button", name="Sign in with Hugging Face")
        expect(sign_in).to_be_visible()
        expect(page.get_by_text("Sign in with Hugging Face to flag.")).to_be_visible()

        page.get_by_role("textbox", name="Tweet").fill("i feel so happy")
        page.get_by_label("Correct label").click()
        page.get_by_role("option", name="joy", exact=True).click()
        page.get_by_role("button", name="Flag", exact=True).click()
        expect(page.get_by_text("Please sign in with Hugging Face")).to_be_visible(timeout=30_000)
        assert store.records() == []

        sign_in.click()  # the mocked OAuth round trip, back to the page
        expect(page.get_by_role("button", name=f"Logout ({TEST_USER})")).to_be_visible(timeout=30_000)
        page.get_by_role("textbox", name="Tweet").fill("i feel so happy")
        page.get_by_label("Correct label").click()
        page.get_by_role("option", name="joy", exact=True).click()
        page.get_by_role("button", name="Flag", exact=True).click()
        record_id_box = page.get_by_role("textbox", name="Saved flag record id")
        expect(record_id_box).to_have_value(re.compile(r"^[0-9a-f-]{36}$"), timeout=30_000)
    finally:
        demo.close()
    [record] = store.records()
    assert record["client"] == f"hf:{TEST_USER}" and record["id"] == record_id_box.input_value()


def test_the_page_speaks_to_visitors(app_module, tiny_backend, tmp_path, page):
    """What a new visitor sees: what the model is (a demo model here), the limits, what a flag keeps and where it
    is published — and none of the operator's configuration."""
    import copy
    from types import SimpleNamespace

    import about
    import backend
    import flags
    import visitors
    from playwright.sync_api import expect

    reports = copy.deepcopy(backend.model_reports(str(REPO_ROOT / "tests" / "fixtures" / "run")))
    reports["train_config"]["data"]["synthetic_sample"] = True
    store = flags.FlagStore(tmp_path / "flags")
    store.scheduler = SimpleNamespace(repo_id="me/emotion-flags")  # as when flags are synced to the Hub
    policy = visitors.from_env({})  # the default limits, and no FLAG_CLIENT_SALT: advice for the log only
    demo = app_module.build_demo(
        tiny_backend, store, model_id="me/distilbert-emotion", reports=reports, policy=policy, sign_in=False
    )
    url = serve(demo)
    try:
        page.goto(url)
        expect(page.get_by_text("This is a demo model.")).to_be_visible()
        expect(page.get_by_text("Learnt from emotion/ (16,000 training texts)", exact=False)).to_be_visible()
        expect(page.get_by_text("Test accuracy 91.9%, macro-F1 87.0%", exact=False)).to_be_visible()
        expect(page.get_by_text("probabilities calibrated", exact=False)).to_be_visible()
        expect(page.get_by_text("You can send up to 10 flags a minute and 100 a day.", exact=False)).to_be_visible()
        expect(page.get_by_text("never your address", exact=False)).to_be_visible()
        dataset = page.get_by_role("link", name="me/emotion-flags")
        expect(dataset).to_have_attribute("href", "https://huggingface.co/datasets/me/emotion-flags")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "space_visitor_page.png"), full_page=True)
        text = page.locator("body").inner_text()
    finally:
        demo.close()
    assert about.DEMO_WARNING.replace("**", "") in text
    for word in ("FLAG_CLIENT_SALT", "FLAG_DATASET_REPO", "HF_TOKEN", "Space secret", "salt"):
        assert word not in text
