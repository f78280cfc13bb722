"""Rate limits that survive a restart: rebuilt at start-up from the flag store's records (their client and time)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import flags
import pytest
import visitors
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.space.conftest import start_app

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_restored_flags_count_against_the_minute_and_the_day():
    clock = Clock()
    limiter = visitors.RateLimiter(per_minute=3, per_day=5, clock=clock)
    sent = [("anon:a", ago(seconds=s)) for s in (50, 20, 5)]  # the minute's 3
    sent += [("hf:b", ago(hours=h)) for h in (23, 12, 6, 3, 1)]  # the day's 5
    sent += [("anon:c", ago(hours=25)), ("anon:c", ago(hours=30))]  # older than a day: forgotten
    line = visitors.restore_limits(limiter, sent, now=NOW)
    assert line == "8 flags of the last day, from 2 clients, count against their limits"
    assert "in the last minute" in limiter.admit("anon:a")
    assert "today" in limiter.admit("hf:b")
    assert limiter.admit("anon:c") is None
    clock.now += 11  # the oldest of anon:a's three leaves the minute (50 s + 11 s ago)
    assert limiter.admit("anon:a") is None
    clock.now += 3600  # one of hf:b's five leaves the day (23 h + 1 h ago)
    assert limiter.admit("hf:b") is None and limiter.admit("hf:b") is not None


def test_a_flag_dated_in_the_future_counts_as_sent_now():
    limiter = visitors.RateLimiter(per_minute=1, per_day=0, clock=Clock())
    visitors.restore_limits(limiter, [("anon:a", NOW + timedelta(minutes=5))], now=NOW)
    assert limiter.admit("anon:a") is not None


def test_flag_times_reads_the_store_and_leaves_out_what_it_cannot_read(tmp_path, caplog):
    store = flags.FlagStore(tmp_path)
    for client in ("hf:ann", "anon:0123456789abcdef"):
        store.append(
            flags.make_record(
                text="t",
                scores={"joy": 1.0},
                corrected_label="joy",
                note="",
                model="m",
                model_revision=None,
                client=client,
            )
        )
    old = {
        "id": "1",
        "time": "2026-01-01T00:00:00.000000Z",
        "text": "t",
        "predicted_label": "joy",
        "scores": {},
        "corrected_label": "joy",
        "note": "",
        "model": "m",
        "model_revision": None,
    }  # before `client` existed
    (tmp_path / "flags-old.jsonl").write_text(json.dumps(old) + "\n")
    (tmp_path / "flags-broken.jsonl").write_text("not json\n")
    times = visitors.flag_times(tmp_path)
    assert sorted(client for client, _ in times) == ["anon:0123456789abcdef", "hf:ann"]
    assert all(abs((datetime.now(timezone.utc) - time).total_seconds()) < 60 for _, time in times)
    assert [r.getMessage() for r in caplog.records if "left out" in r.getMessage()] == [
        "rate limits: flags-broken.jsonl left out ("
        + str(tmp_path / "flags-broken.jsonl")
        + " line 1: not valid JSON — expected one flag record per line)"
    ]


def flag(url: str, text: str) -> str:
    return Client(url, verbose=False).predict(text, "joy", "", api_name="/flag")


def test_after_a_restart_a_client_at_its_limit_is_still_refused(trained_tiny_dir, tmp_path):
    """Flag up to the day's limit, restart the app on the same FLAG_DIR, and the next flag is refused."""
    env = {
        "MODEL": str(trained_tiny_dir),  # exported: both starts skip torch (conftest.start_app)
        "FLAG_DIR": str(tmp_path / "flags"),
        "FLAG_LIMIT_PER_MINUTE": "0",  # the day's limit: a slow restart cannot outlast it
        "FLAG_LIMIT_PER_DAY": "3",
        "FLAG_CLIENT_SALT": "a-fixed-secret-salt",  # the same anonymous client id after the restart
    }
    proc, url, _ = start_app(**env)
    try:
        ids = [flag(url, f"i feel happy {i}") for i in range(3)]
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert len(set(ids)) == 3
    proc, url, output = start_app(**env)
    try:
        with pytest.raises(AppError, match="You have sent 3 today, the most we take from one visitor in a day"):
            flag(url, "i feel happy again")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert any(
        "rate limits: 3 flags of the last day, from 1 clients, count against their limits" in line for line in output
    )
    assert sorted(r["id"] for r in flags.read_records(tmp_path / "flags")) == sorted(ids)  # the refused one: not
