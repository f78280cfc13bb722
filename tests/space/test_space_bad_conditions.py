"""The Space under bad conditions: forged addresses, huge texts, an unwritable or full disk, invisible and
control characters, and outputs that would overwrite the owner's work (docs/space_bad_conditions.md)."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
import time

import flags
import pytest
import visitors
from gradio_client import Client
from gradio_client.exceptions import AppError
from starlette.datastructures import Headers

from formats.flag_record import shown_escaped
from tests.conftest import REPO_ROOT
from tests.space.conftest import RecordingBackend, serve, start_app
from tests.space.flag_writer import make_flag
from tests.space.test_space_flags import run_cli

# --- Who the visitor is -----------------------------------------------------------------------------------


def test_rotating_x_forwarded_for_off_a_space_gets_no_more_than_the_limit(trained_tiny_dir, tmp_path, monkeypatch):
    """The app as launched (`python space/app.py`, no SPACE_ID): a script that forges a new X-Forwarded-For for
    every flag is still one client, the loopback peer, and gets the default 10 a minute."""
    for name in ("SPACE_ID", "FORWARDED_ALLOW_IPS", "FLAG_LIMIT_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)  # started as a user would: the app must not need any of them
    proc, url, _ = start_app(MODEL=str(trained_tiny_dir), FLAG_DIR=str(tmp_path / "flags"), FLAG_CLIENT_SALT="s")
    try:
        results = []
        for i in range(15):
            client = Client(url, verbose=False, headers={"X-Forwarded-For": f"10.0.{i}.{i + 1}"})
            try:
                results.append(client.predict(f"flag {i}", "joy", "", api_name="/flag"))
            except AppError as error:
                results.append(error)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    refused = [r for r in results if isinstance(r, AppError)]
    assert len(refused) == 5 and all("You have sent 10 in the last minute" in str(e) for e in refused)
    records = flags.read_records(tmp_path / "flags")
    assert len(records) == 10
    loopback = visitors.Visitors(salt=b"s", limiter=None).client_id(None, "127.0.0.1")
    assert {r["client"] for r in records} == {loopback}


def test_on_a_space_the_last_x_forwarded_for_entry_is_the_visitor():
    # The client sent the first entries itself; the Space's proxy appended the peer it saw, last.
    forged = Headers(raw=[(b"x-forwarded-for", b"10.9.9.9, 10.8.8.8"), (b"x-forwarded-for", b"198.51.100.4")])
    assert visitors.client_address(forged, "10.0.0.1", on_space=True) == "198.51.100.4"
    assert visitors.client_address({"x-forwarded-for": "1.2.3.4,198.51.100.4 "}, None, on_space=True) == (
        "198.51.100.4"
    )
    assert visitors.client_address({"x-forwarded-for": "1.2.3.4, 198.51.100.4:5123"}, None, True) == "198.51.100.4"
    assert visitors.client_address({"x-forwarded-for": "[2001:db8::1]:443"}, None, True) == "2001:db8::1"
    assert visitors.client_address(forged, "127.0.0.1", on_space=False) == "127.0.0.1"  # off a Space: the peer


def test_ipv6_clients_are_hashed_by_their_64_and_ipv4_by_the_full_address():
    policy = visitors.Visitors(salt=b"k", limiter=None)
    same_64 = {policy.client_id(None, a) for a in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ee:dd:cc", "2001:DB8:1:2::9")}
    assert len(same_64) == 1
    assert policy.client_id(None, "2001:db8:1:3::1") not in same_64  # the next /64: another client
    assert visitors.address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert policy.client_id(None, "203.0.113.7") != policy.client_id(None, "203.0.113.8")
    assert visitors.address_key("203.0.113.7") == "203.0.113.7"
    assert visitors.address_key("::ffff:203.0.113.7") == "203.0.113.7"  # IPv4 over an IPv6 socket: the full address
    assert visitors.address_key("not-an-address") == "not-an-address"


# --- Texts /predict will not classify ---------------------------------------------------------------------


def test_predict_refuses_a_text_over_the_cap_with_a_message_naming_it(app_module, tiny_backend, tmp_path):
    cap = app_module.max_text_chars(tiny_backend)
    assert cap == 10 * tiny_backend.max_length * 4 == 2560  # ten times the 64 tokens the tiny model reads
    recording = RecordingBackend(tiny_backend)
    demo = app_module.build_demo(recording, flags.FlagStore(tmp_path), model_id="tiny")
    url = serve(demo)
    try:
        client = Client(url, verbose=False)
        at_cap = client.predict("happy " * (cap // 6), api_name="/predict")
        over = client.predict("x" * (cap + 1), api_name="/predict")
        start = time.monotonic()
        huge = client.predict("y" * 2_000_000, api_name="/predict")
        huge_seconds = time.monotonic() - start
        config = client.config
    finally:
        demo.close()
    assert len(at_cap["confidences"]) == 6
    assert over == {
        "label": f"The text is {cap + 1} characters long: the most this Space classifies is {cap}.",
        "confidences": None,
    }
    assert huge["label"] == f"The text is 2000000 characters long: the most this Space classifies is {cap}."
    assert huge_seconds < 20
    assert max(recording.lengths) <= cap  # the model never saw the long texts
    markdown = " ".join(str(c["props"].get("value")) for c in config["components"] if c["type"] == "markdown")
    assert f"Texts over {cap} characters are not classified." in markdown
    # Neither the page's check nor the tokens panel reads the long text.
    with pytest.raises(Exception, match=f"The text is {cap + 1} characters long"):
        app_module.check_text("x" * (cap + 1), cap)
    assert app_module.token_table(tiny_backend, "x" * (cap + 1)) == ([], "")


# --- The flag store under bad conditions ------------------------------------------------------------------


def test_a_flag_dir_that_cannot_be_created_is_one_line_at_start_up(trained_tiny_dir, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    flag_dir = tmp_path / "a-file" / "flags"
    # The model loads first: an exported one, which loads without torch (the start-up's cheapest path).
    env = {**os.environ, "MODEL": str(trained_tiny_dir), "FLAG_DIR": str(flag_dir), "FLAG_DATASET_REPO": ""}
    env["BACKEND"] = ""
    result = subprocess.run(
        [sys.executable, "space/app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: FLAG_DIR={flag_dir}: cannot create or write the flag folder (Not a directory) — "
        "set FLAG_DIR to a folder the app can write"
    )


def test_a_flag_dir_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(flags.tempfile, "mkstemp", read_only)  # the probe write, on a read-only disk
    with pytest.raises(flags.FlagStoreError, match=r"cannot create or write the flag folder \(Read-only file system\)"):
        flags.FlagStore(tmp_path / "flags")


def test_a_failed_flag_write_tells_the_visitor_it_was_not_saved(app_module, tiny_backend, tmp_path, caplog, capfd):
    store = flags.FlagStore(tmp_path / "flags")
    policy = visitors.Visitors(salt=b"s", limiter=visitors.RateLimiter(per_minute=1, per_day=0))
    demo = app_module.build_demo(tiny_backend, store, model_id="tiny", policy=policy, sign_in=False)
    url = serve(demo)
    real_append = store.append

    def disk_full(_record):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    try:
        store.append = disk_full
        with pytest.raises(AppError) as refused:
            Client(url, verbose=False).predict("a tweet", "joy", "", api_name="/flag")
        store.append = real_append
        record_id = Client(url, verbose=False).predict("a tweet", "joy", "", api_name="/flag")  # allowance back
    finally:
        demo.close()
    assert str(refused.value) == app_module.FLAG_NOT_SAVED
    assert (
        app_module.FLAG_NOT_SAVED == "Your flag was NOT saved: the server could not write it. Please try again later."
    )
    assert [r.getMessage() for r in caplog.records if r.name == "app"] == [
        f"flag not saved: cannot write to {store.flag_dir} (No space left on device)"
    ]
    assert "Traceback" not in capfd.readouterr().err
    assert [r["id"] for r in store.records()] == [record_id]


@pytest.mark.parametrize("text", ["\u200b\u200d", "\u2060 \ufeff\n", "\u3164\u3164", "\u202e \u200e", "\u0301"])
def test_a_flag_with_no_visible_character_is_refused(app_module, tiny_backend, tmp_path, text):
    store = flags.FlagStore(tmp_path)
    demo = app_module.build_demo(tiny_backend, store, model_id="tiny")
    flag = next(fn for fn in demo.fns.values() if fn.api_name == "flag").fn
    with pytest.raises(Exception, match="This text has no visible character"):
        flag(text, "joy", "", None, None)
    assert store.records() == []
    assert flag("a tweet \u200b", "joy", "", None, None)  # a visible text with a zero-width space is fine


# --- Control characters are data: stored as sent, shown escaped -------------------------------------------

EVIL = "tweet \u202egnp.exe \x1b[31mred\x1b[0m nul\x00 del\x7f zwj 👩\u200d💻"
SHOWN = "tweet \\u202egnp.exe \\x1b[31mred\\x1b[0m nul\\x00 del\\x7f zwj 👩\u200d💻"


def test_control_and_bidi_characters_are_escaped_in_the_review_sheet_and_csv_but_stored_as_sent(tmp_path):
    store = flags.FlagStore(tmp_path / "flags")
    store.append(make_flag(EVIL, note="see \u202eme"))
    assert json.loads(store.path.read_text(encoding="utf-8"))["text"] == EVIL  # the record keeps the text as sent
    assert shown_escaped(EVIL) == SHOWN
    assert shown_escaped("two\nlines\tand tab") == "two\nlines\tand tab"

    assert run_cli("export", "--flag-dir", str(tmp_path / "flags"), "--output", str(tmp_path / "f.csv")).returncode == 0
    assert (
        run_cli("export", "--flag-dir", str(tmp_path / "flags"), "--output", str(tmp_path / "f.jsonl")).returncode == 0
    )
    assert run_cli("review", "--flag-dir", str(tmp_path / "flags"), "--output", str(tmp_path / "r.csv")).returncode == 0
    with (tmp_path / "f.csv").open(newline="", encoding="utf-8") as f:
        [exported] = list(csv.DictReader(f))
    assert (exported["text"], exported["note"]) == (SHOWN, "see \\u202eme")
    with (tmp_path / "r.csv").open(newline="", encoding="utf-8") as f:
        [row] = list(csv.DictReader(f))
    assert row["text"] == SHOWN
    assert json.loads((tmp_path / "f.jsonl").read_text(encoding="utf-8"))["text"] == EVIL  # JSON lines: verbatim


# --- Outputs never destroy data ---------------------------------------------------------------------------


@pytest.mark.parametrize("command, name", [("review", "review.csv"), ("export", "flags.csv"), ("export", "f.jsonl")])
def test_an_existing_output_is_replaced_only_with_overwrite(tmp_path, command, name):
    flags.FlagStore(tmp_path / "flags").append(make_flag("a text"))
    out = tmp_path / name
    out.write_text("accept,text\ny,the owner's marks\n", encoding="utf-8")
    args = [command, "--flag-dir", str(tmp_path / "flags"), "--output", str(out)]
    refused = run_cli(*args)
    assert refused.returncode == 2 and refused.stdout == ""
    assert (
        refused.stderr
        == f"flags error: --output {out}: already exists — pass --overwrite to replace it, or choose another --output\n"
    )
    assert out.read_text(encoding="utf-8") == "accept,text\ny,the owner's marks\n"
    replaced = run_cli(*args, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert "a text" in out.read_text(encoding="utf-8")


def test_an_output_that_is_one_of_the_inputs_is_refused_even_with_overwrite(tmp_path):
    store = flags.FlagStore(tmp_path / "flags")
    store.append(make_flag("a text"))
    flag_file, before = store.path, store.path.read_bytes()
    export = run_cli("export", "--flag-dir", str(tmp_path / "flags"), "--output", str(flag_file), "--overwrite")
    assert export.returncode == 2
    assert export.stderr == (
        f"flags error: --output {flag_file}: is one of this command's inputs — choose another --output "
        "(--overwrite never replaces an input)\n"
    )
    assert flag_file.read_bytes() == before

    sheet = tmp_path / "train.csv"
    sheet.write_text("a text;joy\n", encoding="utf-8")
    args = ["review", "--flag-dir", str(tmp_path / "flags"), "--data", str(sheet), "--output", str(sheet)]
    review = run_cli(*args, "--overwrite")
    assert review.returncode == 2 and "is one of this command's inputs" in review.stderr
    assert sheet.read_text(encoding="utf-8") == "a text;joy\n"
