"""The owner's review sheet: one row per flagged text with votes, clients and the training label; accepted rows
(and only those) go into training with `--corrections review.csv`."""

from __future__ import annotations

import csv

import flags
import review

from tests.space.flag_writer import make_flag
from tests.space.test_space_flags import run_cli
from training.corrections import merge_corrections
from training.flag_records import load_flag_records

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def store_with_flags(folder, flags_by_client: list[tuple[str, str, str]]) -> flags.FlagStore:
    """A flag store holding (client, text, corrected_label) flags, in that order."""
    store = flags.FlagStore(folder)
    for client, text, label in flags_by_client:
        store.append(make_flag(text, client=client, corrected_label=label))
    return store


def read_sheet(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_review_counts_one_vote_per_client_and_shows_the_training_label(tmp_path):
    train = tmp_path / "data" / "train.txt"
    train.parent.mkdir()
    train.write_text("the bus was late again;anger\ni feel calm today;joy\n", encoding="utf-8")
    store_with_flags(
        tmp_path / "flags",
        [("anon:flood", "The bus was late  again", "love")] * 6
        + [("hf:ann", "the bus was late again", "sadness"), ("hf:bob", "the bus was late again", "sadness")]
        + [("hf:ann", '=HYPERLINK("x") new tweet', "joy")],
    )

    result = run_cli(
        "review",
        "--flag-dir",
        str(tmp_path / "flags"),
        "--out",
        str(tmp_path / "review.csv"),
        "--data",
        str(train.parent),
    )

    assert result.returncode == 0, result.stderr
    assert "wrote 2 texts to review" in result.stdout
    first, second = read_sheet(tmp_path / "review.csv")
    assert list(first) == review.COLUMNS
    assert (first["text"], first["corrected_label"], first["training_label"]) == (
        "the bus was late again",
        "sadness",
        "anger",
    )
    assert (first["votes"], first["clients"], first["flags"], first["accept"]) == ("sadness:2 love:1", "3", "8", "")
    assert second["text"] == '\'=HYPERLINK("x") new tweet' and second["training_label"] == ""  # a new text


def test_only_accepted_rows_reach_training(tmp_path):
    store_with_flags(
        tmp_path / "flags",
        [("hf:ann", "i feel calm today", "sadness"), ("anon:1", "made up text", "joy"), ("anon:2", "=1+1", "love")],
    )
    rows = review.review_rows(flags.read_records(tmp_path / "flags"))
    for row in rows:
        row["accept"] = "y" if row["text"] in ("i feel calm today", "=1+1") else ""
    sheet = review.write_review(rows, tmp_path / "review.csv")

    texts, labels, summary = merge_corrections(
        ["i feel calm today"],
        ["joy"],
        load_flag_records(sheet),
        LABELS,  # the defaults: --min-votes 2
    )

    assert (texts, labels) == (["i feel calm today", "=1+1"], ["sadness", "love"])  # one vote each, but accepted
    assert summary["dropped"] == {"not_accepted": 1}


def review_cli(tmp_path, data: str):
    """``python -m space.flags review`` of ``tmp_path/flags`` with ``--data data``."""
    return run_cli("review", "--flag-dir", str(tmp_path / "flags"), "--out", str(tmp_path / "r.csv"), "--data", data)


def test_review_errors_are_one_line(tmp_path):
    store_with_flags(tmp_path / "flags", [("c", "a text", "joy")])
    missing = review_cli(tmp_path, str(tmp_path / "nope"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    expected = "no such file — --data expects a text;label file or a folder with train.txt"
    assert missing.stderr.strip() == f"flags error: {tmp_path / 'nope'}: {expected}"
    (tmp_path / "train.txt").write_text("fine;joy\nno label here\n", encoding="utf-8")
    bad = review_cli(tmp_path, str(tmp_path / "train.txt"))
    assert bad.returncode == 2 and bad.stderr.strip().endswith("train.txt line 2: expected 'text;label'")
