"""A real headless Chromium: after Classify, "Why this label?" shows the text's words highlighted for the top
class, and picking another class explains that one."""

from __future__ import annotations

import pytest

from tests.space.conftest import CHROMIUM

TWEET = "i feel so happy and glad today <b>really</b>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (install the Debian package `chromium`)"
    ),
]


def test_the_highlighted_words_appear_after_classify_and_follow_the_class_picked(served, tiny_backend, page):
    from playwright.sync_api import expect

    url, _ = served
    scores = tiny_backend.predict([TWEET])[0]
    top, other = max(scores, key=scores.get), min(scores, key=scores.get)
    page.goto(url)
    explanation = page.locator("#explanation")
    expect(explanation.get_by_text("happy", exact=True)).to_have_count(0)  # nothing before Classify
    page.get_by_role("textbox", name="Tweet").fill(TWEET)
    page.get_by_role("button", name="Classify").click()

    expect(page.get_by_text("Why this label?")).to_be_visible()
    for word in TWEET.split():  # the text's own words, HTML shown as text
        expect(explanation.get_by_text(word, exact=True)).to_be_visible(timeout=30_000)
    picker = page.get_by_label("Explain the class")
    expect(picker).to_have_value(top)

    colours = explanation.inner_html()  # each word's colour is its score
    picker.click()
    page.get_by_role("option", name=other, exact=True).click()
    expect(picker).to_have_value(other, timeout=30_000)
    expect(explanation.get_by_text("glad", exact=True)).to_be_visible()
    page.wait_for_function("html => document.querySelector('#explanation').innerHTML !== html", arg=colours)
    assert page.evaluate("document.querySelectorAll('#explanation b').length") == 0
