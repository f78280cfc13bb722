"""The page speaks to visitors: what the model is (from its reports), the limits, sign-in, what a flag keeps
and where it goes — and nothing for the operator, whose advice goes to the log."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import about
import backend
import flags
import httpx
import page
import pytest
import visitors

from tests.conftest import REPO_ROOT
from tests.space.conftest import no_limits, serve, start_app

FIXTURE_RUN = REPO_ROOT / "tests" / "fixtures" / "run"
FACTS = (
    "Learnt from `emotion/` (16,000 training texts) · Test accuracy 91.9%, macro-F1 87.0% on 2,000 texts it never "
    "saw in training · probabilities calibrated: an answer shown at 80% is right about 8 times in 10"
)
# What only the operator can act on: never on the page.
OPERATOR_WORDS = ("FLAG_", "HF_TOKEN", "secret", "salt", "set it", "environment")


@pytest.fixture
def reports() -> dict[str, dict]:
    """The reports of the fixture run, as the app reads them from a model folder."""
    return backend.model_reports(str(FIXTURE_RUN))


def page_markdown(url: str) -> str:
    config = httpx.get(url + "config", timeout=10).json()
    return "\n".join(str(c["props"].get("value")) for c in config["components"] if c["type"] == "markdown")


def test_the_header_says_what_the_model_learnt_from_how_it_scored_and_if_it_is_calibrated(reports, tiny_backend):
    assert about.facts_line(reports) == FACTS
    assert page.heading(tiny_backend, "me/distilbert-emotion", None, reports) == (
        "# Tweet emotion classifier\n\n"
        f"Model `me/distilbert-emotion` · backend {tiny_backend.name} · classes: {', '.join(tiny_backend.labels)}"
        f"\n\n{FACTS}"
    )


def test_the_real_sample_metrics_say_when_probabilities_are_not_calibrated():
    metrics = json.loads((REPO_ROOT / "docs" / "sample_metrics.json").read_text(encoding="utf-8"))
    assert about.facts_line({"metrics": metrics}).endswith(
        "probabilities not calibrated: read them as a ranking, not as chances"
    )


@pytest.mark.parametrize("key", ["synthetic_sample", "fallback"])  # fallback: runs before synthetic_sample
def test_a_demo_model_gets_a_warning_banner_under_the_title(reports, tiny_backend, key):
    demo = copy.deepcopy(reports)
    demo["train_config"]["data"][key] = True
    lines = page.heading(tiny_backend, "tiny", None, demo).split("\n\n")
    assert lines[:2] == ["# Tweet emotion classifier", about.DEMO_WARNING]
    assert "not on real tweets" in about.DEMO_WARNING


def test_a_model_without_reports_loads_with_a_shorter_header(tiny_model_dir, tiny_backend):
    reports = backend.model_reports(str(tiny_model_dir))
    assert reports == {"metrics": {}, "train_config": {}}
    assert page.heading(tiny_backend, "tiny", "abc", reports) == (
        f"# Tweet emotion classifier\n\nModel `tiny` @ `abc` · backend {tiny_backend.name} · "
        f"classes: {', '.join(tiny_backend.labels)}"
    )


def test_partial_reports_give_what_they_have(tmp_path):
    metrics = {"eval": {"validation": {"accuracy": 0.5}}, "calibration": {"applied": False}}
    assert about.facts_line({"metrics": metrics}) == (
        "Validation accuracy 50.0% · probabilities not calibrated: read them as a ranking, not as chances"
    )
    assert about.facts_line({"metrics": {"eval": {}}, "train_config": {"data": {"source": "a`b <img src=x>"}}}) == (
        "Learnt from `` a`b <img src=x> ``"  # data, shown as code: never markup
    )
    (tmp_path / "metrics.json").write_text("{not json")
    assert backend.model_reports(str(tmp_path)) == {"metrics": {}, "train_config": {}}


def test_the_page_tells_visitors_the_limits_and_what_a_flag_keeps_without_operator_advice(
    app_module, tiny_backend, reports, tmp_path
):
    policy = visitors.from_env({})  # no salt: the advice is for the log
    assert policy.notes and "FLAG_CLIENT_SALT" in policy.notes[0]
    demo = app_module.build_demo(
        tiny_backend, flags.FlagStore(tmp_path), model_id="tiny", reports=reports, policy=policy, sign_in=False
    )
    url = serve(demo)
    try:
        markdown = page_markdown(url)
    finally:
        demo.close()
    assert FACTS in markdown
    assert "Anyone can flag, anonymously. You can send up to 10 flags a minute and 100 a day." in markdown
    assert (
        "A flag keeps the text, the model's answer, the label you picked and your note; never your address. "
        "Flags are stored to improve the model." in markdown
    )
    assert "published" not in markdown
    assert not [word for word in OPERATOR_WORDS if word in markdown]


def test_the_page_says_when_flags_are_published_and_when_sign_in_is_required(app_module, tiny_backend, tmp_path):
    store = flags.FlagStore(tmp_path)
    store.scheduler = SimpleNamespace(repo_id="me/emotion-flags")  # as open_store sets it when syncing
    policy = no_limits(require_login=True)  # the button itself needs a Hub login off a Space: tested in the browser
    demo = app_module.build_demo(tiny_backend, store, model_id="tiny", policy=policy, sign_in=False)
    url = serve(demo)
    try:
        markdown = page_markdown(url)
    finally:
        demo.close()
    assert "Sign in with Hugging Face to flag." in markdown
    assert "your note, and your Hugging Face username if you are signed in; never your address." in markdown
    assert (
        "They are also published in the Hugging Face dataset "
        "[me/emotion-flags](https://huggingface.co/datasets/me/emotion-flags)." in markdown
    )
    assert not [word for word in OPERATOR_WORDS if word in markdown]


def test_configuration_advice_goes_to_the_server_log(trained_tiny_dir, tmp_path):
    proc, url, output = start_app(MODEL=str(trained_tiny_dir), FLAG_DIR=str(tmp_path / "flags"), FLAG_CLIENT_SALT="")
    try:
        markdown = page_markdown(url)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    log = "".join(output)
    assert "FLAG_CLIENT_SALT is not set" in log and "set FLAG_DATASET_REPO and HF_TOKEN" in log
    assert "rate limits: 0 flags of the last day" in log
    assert "FLAG_CLIENT_SALT" not in markdown and "HF_TOKEN" not in markdown
