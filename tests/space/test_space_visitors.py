"""Who flagged and how often: client ids (never a raw address), rate limits under concurrency, sign-in."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import flags
import pytest
import visitors
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.space.conftest import no_limits, serve


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_threads_racing_on_one_client_never_pass_more_than_the_limit():
    limiter = visitors.RateLimiter(per_minute=7, per_day=0)
    start = threading.Barrier(40)

    def try_once(_):
        start.wait()  # every thread asks at the same moment
        return limiter.admit("anon:same") is None

    with ThreadPoolExecutor(40) as pool:
        admitted = sum(pool.map(try_once, range(40)))
    assert admitted == 7
    assert limiter.admit("anon:other") is None  # limits are per client


def test_limits_slide_over_the_minute_and_the_day():
    clock = Clock()
    limiter = visitors.RateLimiter(per_minute=2, per_day=3, clock=clock)
    assert [limiter.admit("c") for _ in range(2)] == [None, None]
    assert "wait a minute" in limiter.admit("c")
    clock.now += 61
    assert limiter.admit("c") is None
    clock.now += 61
    assert "come back tomorrow" in limiter.admit("c")  # 3 in the last 24 h

    daily = visitors.RateLimiter(per_minute=0, per_day=2, clock=clock)
    start = clock.now
    assert daily.admit("c") is None
    clock.now += 3600
    assert daily.admit("c") is None
    assert "You have sent 2 today" in daily.admit("c")
    clock.now = start + 24 * 3600 + 1  # the first is now more than a day old, the second is not
    assert daily.admit("c") is None
    assert "come back tomorrow" in daily.admit("c")


def test_a_released_flag_does_not_count():
    limiter = visitors.RateLimiter(per_minute=1, per_day=0)
    assert limiter.admit("c") is None
    limiter.release("c")
    assert limiter.admit("c") is None


def test_client_id_is_the_username_or_a_salted_hash_that_hides_the_address():
    policy = visitors.Visitors(salt=b"secret", limiter=visitors.RateLimiter(0, 0))
    assert policy.client_id("alice", "203.0.113.7") == "hf:alice"
    anon = policy.client_id(None, "203.0.113.7")
    assert anon.startswith("anon:") and len(anon) == len("anon:") + 16 and "203" not in anon
    assert policy.client_id(None, "203.0.113.7") == anon != policy.client_id(None, "203.0.113.8")
    other_salt = visitors.Visitors(salt=b"other", limiter=policy.limiter)
    assert other_salt.client_id(None, "203.0.113.7") != anon


def test_on_a_space_the_address_is_the_one_the_proxy_appended():
    headers = {"x-forwarded-for": "10.9.9.9, 198.51.100.4"}  # the first entry is whatever the client sent
    assert visitors.client_address(headers, "10.0.0.1", on_space=True) == "198.51.100.4"
    assert visitors.client_address(headers, "127.0.0.1", on_space=False) == "127.0.0.1"
    assert visitors.client_address({}, "10.0.0.1", on_space=True) == "10.0.0.1"


def test_policy_from_the_environment():
    default = visitors.from_env({})
    assert (default.limiter.per_minute, default.limiter.per_day) == (10, 100)
    assert default.salt_is_random and "FLAG_CLIENT_SALT is not set" in default.notes[0]
    assert visitors.from_env({}).salt != default.salt  # random per process (here: per call)
    set_ = visitors.from_env(
        {"FLAG_LIMIT_PER_MINUTE": "3", "FLAG_LIMIT_PER_DAY": "0", "FLAG_CLIENT_SALT": "s", "FLAG_REQUIRE_LOGIN": "1"}
    )
    assert (set_.limiter.per_minute, set_.limiter.per_day, set_.salt, set_.require_login) == (3, 0, b"s", True)
    assert set_.notes == [] and set_.policy_line(True) == (
        "Sign in with Hugging Face to flag. You can send up to 3 flags a minute."
    )
    assert default.policy_line(False) == (
        "Anyone can flag, anonymously. You can send up to 10 flags a minute and 100 a day."
    )
    assert default.policy_line(True) == (
        "Anyone can flag; if you sign in with Hugging Face, your flags carry your username. "
        "You can send up to 10 flags a minute and 100 a day."
    )
    with pytest.raises(ValueError, match=r"FLAG_LIMIT_PER_DAY='many': expected a whole number"):
        visitors.from_env({"FLAG_LIMIT_PER_DAY": "many"})
    assert visitors.positive_env({}, "FLAG_PUSH_MINUTES", 5) == 5
    assert visitors.positive_env({"FLAG_PUSH_MINUTES": "0.5"}, "FLAG_PUSH_MINUTES", 5) == 0.5
    with pytest.raises(ValueError, match=r"FLAG_PUSH_TIMEOUT='soon': expected a positive number"):
        visitors.positive_env({"FLAG_PUSH_TIMEOUT": "soon"}, "FLAG_PUSH_TIMEOUT", 20)


@pytest.fixture
def serve_policy(app_module, tiny_backend, tmp_path):
    """Serve the app with a given flag policy; yields a function policy -> (url, store)."""
    demos = []

    def start(policy, **options):
        store = flags.FlagStore(tmp_path / "flags")
        demo = app_module.build_demo(tiny_backend, store, model_id="tiny", policy=policy, **options)
        demos.append(demo)
        return serve(demo), store

    yield start
    for demo in demos:
        demo.close()


def test_a_concurrent_burst_from_one_address_stores_exactly_the_limit(serve_policy):
    url, store = serve_policy(visitors.Visitors(salt=b"s", limiter=visitors.RateLimiter(per_minute=5, per_day=0)))

    def flag(i):  # one client per thread: a gradio_client Client is not meant to be shared by threads
        try:
            return Client(url, verbose=False).predict(f"burst {i}", "joy", "", api_name="/flag")
        except AppError as error:
            return error

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(flag, range(20)))
    refused = [r for r in results if isinstance(r, AppError)]
    saved = sorted(r for r in results if isinstance(r, str))
    assert len(saved) == 5 and len(refused) == 15
    assert all("You have sent 5 in the last minute" in str(e) for e in refused)
    records = store.records()
    assert sorted(r["id"] for r in records) == saved
    assert {r["client"] for r in records} == {visitors.Visitors(salt=b"s", limiter=None).client_id(None, "127.0.0.1")}


def test_no_raw_address_is_stored(serve_policy, monkeypatch, app_module):
    monkeypatch.setattr(app_module, "ON_SPACE", True)  # trust X-Forwarded-For, as behind the Space's proxy
    url, store = serve_policy(no_limits(), sign_in=False)
    client = Client(url, verbose=False, headers={"X-Forwarded-For": "203.0.113.77"})
    client.predict("where am i from", "fear", "", api_name="/flag")
    [record] = store.records()
    assert record["client"] == no_limits().client_id(None, "203.0.113.77")
    stored = b"".join(path.read_bytes() for path in store.flag_dir.iterdir())
    assert b"203.0.113.77" not in stored and b"127.0.0.1" not in stored


def test_required_sign_in_refuses_anonymous_flags_and_the_page_says_so(serve_policy):
    url, store = serve_policy(no_limits(require_login=True), sign_in=False)  # sign_in=False: no mock login
    with pytest.raises(AppError, match="Please sign in with Hugging Face"):
        Client(url, verbose=False).predict("a tweet", "joy", "", api_name="/flag")
    assert store.records() == []
    config = Client(url, verbose=False).config
    markdown = " ".join(str(c["props"].get("value")) for c in config["components"] if c["type"] == "markdown")
    assert "Sign in with Hugging Face to flag." in markdown and "up to 1000 characters" in markdown


def test_a_label_that_is_not_a_class_logs_one_line_not_a_traceback(served, capfd, caplog):
    url, store = served
    with pytest.raises(AppError, match="Pick the correct label"):
        Client(url, verbose=False).predict("a tweet", "nope", "", api_name="/flag")
    assert "Traceback" not in capfd.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.name == "app"] == [
        "flag refused: corrected label 'nope' is not a class of the model"
    ]
    assert store.records() == []
