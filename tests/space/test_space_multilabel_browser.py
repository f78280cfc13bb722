"""A real headless Chromium on a multi-label model's page: each label's bar, the predicted set, check the right
labels, flag, and read the record from the store."""

from __future__ import annotations

import re

import flags
import pytest

from tests.conftest import MULTI_LABELS
from tests.space.conftest import CHROMIUM, no_limits, serve
from tests.space.test_space_browser import ARTIFACTS
from tests.space.test_space_multilabel import PREDICTED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (install the Debian package `chromium`)"
    ),
]
TWEET = "so mad at the bus, but glad to be home"


def test_check_the_right_labels_and_flag_in_the_browser(app_module, multilabel_torch, tmp_path, page):
    from playwright.sync_api import expect

    store = flags.FlagStore(tmp_path / "flags")
    demo = app_module.build_demo(multilabel_torch, store, model_id="tiny/multi", policy=no_limits(), sign_in=False)
    url = serve(demo)
    try:
        page.goto(url)
        expect(page.get_by_text("they do not add up to 100%", exact=False)).to_be_visible()
        page.get_by_role("textbox", name="Tweet").fill(TWEET)
        page.get_by_role("button", name="Classify").click()
        expect(page.locator(".confidence-set")).to_have_count(len(MULTI_LABELS), timeout=30_000)
        expect(page.get_by_test_id("label-output-value")).to_have_text("predicted: anger, joy")

        for label in ("love", "joy"):  # checked out of the model's order
            page.get_by_role("checkbox", name=label, exact=True).check()
        page.get_by_role("button", name="Flag", exact=True).click()
        record_id_box = page.get_by_role("textbox", name="Saved flag record id")
        expect(record_id_box).to_have_value(re.compile(r"^[0-9a-f-]{36}$"), timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "space_multilabel_browser.png"), full_page=True)

        first_id = record_id_box.input_value()
        for label in ("love", "joy"):  # none checked: "none of these"
            page.get_by_role("checkbox", name=label, exact=True).uncheck()
        page.get_by_role("button", name="Flag", exact=True).click()
        expect(record_id_box).not_to_have_value(first_id, timeout=30_000)
        second_id = record_id_box.input_value()
    finally:
        demo.close()
    first, second = store.records()
    assert (first["id"], second["id"]) == (first_id, second_id)
    assert (first["text"], first["corrected_labels"], first["predicted_labels"]) == (TWEET, ["joy", "love"], PREDICTED)
    assert (first["corrected_label"], first["predicted_label"]) == (None, None)
    assert second["corrected_labels"] == []
    assert first["scores"] == pytest.approx(multilabel_torch.predict([TWEET])[0], abs=1e-6)
