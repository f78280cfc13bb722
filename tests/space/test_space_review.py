"""The owner's review sheet: one row per flagged text with votes, clients and the training label; accepted rows
(and only those) go into training with `--corrections review.csv`."""

from __future__ import annotations

import csv

import flags
import label_sets
import review

from tests.space.flag_writer import make_flag
from tests.space.test_space_flags import run_cli
from training.corrections.merge import merge_corrections
from training.corrections.records import load_flag_records

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
    assert (first["agreement"], second["agreement"]) == ("0.67", "")  # one client: nobody to agree with
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


def test_agreement_is_the_share_of_clients_behind_the_leading_vote(tmp_path):
    store_with_flags(
        tmp_path / "flags",
        [
            ("hf:ann", "split vote", "joy"),
            ("hf:bob", "split vote", "joy"),
            ("hf:cy", "split vote", "love"),
            ("hf:ann", "alone", "fear"),
            ("hf:ann", "alone", "anger"),  # one client, twice: their latest counts
            ("hf:ann", "all agree", "love"),
            ("hf:bob", "all agree", "love"),
            ("hf:ann", "changed mind", "fear"),
            ("hf:bob", "changed mind", "joy"),
            ("hf:ann", "changed mind", "joy"),
        ],
    )
    rows = {row["text"]: row for row in review.review_rows(flags.read_records(tmp_path / "flags"))}
    assert rows["split vote"]["agreement"] == 0.67 and rows["split vote"]["clients"] == 3
    assert (rows["alone"]["agreement"], rows["alone"]["corrected_label"], rows["alone"]["clients"]) == ("", "anger", 1)
    assert rows["all agree"]["agreement"] == 1.0
    assert (rows["changed mind"]["agreement"], rows["changed mind"]["votes"]) == (1.0, "joy:2")
    sheet = review.write_review(list(rows.values()), tmp_path / "review.csv")
    by_text = {row["text"]: row for row in read_sheet(sheet)}
    assert (by_text["split vote"]["agreement"], by_text["alone"]["agreement"]) == ("0.67", "")


def set_flag(client: str, text: str, labels: list[str]) -> dict:
    return label_sets.make_set_record(
        text=text,
        scores={"anger": 0.6, "fear": 0.1, "joy": 0.5, "love": 0.2},
        predicted_labels=["anger", "joy"],
        corrected_labels=labels,
        note="",
        model="tiny/multi",
        model_revision=None,
        client=client,
    )


def test_a_multi_label_sheet_votes_with_sets(tmp_path):
    store = flags.FlagStore(tmp_path / "flags")
    for client, text, labels in [
        ("hf:ann", "mad and glad", ["anger", "joy"]),
        ("hf:bob", "mad and glad", ["joy", "anger"]),  # the same set, in another order: the same vote
        ("hf:cy", "mad and glad", ["joy"]),
        ("hf:ann", "just a tuesday", []),
        ("hf:bob", "just a tuesday", []),
        ("anon:1", "just a tuesday", ["love"]),
        ("hf:ann", "=1+1 formula", ["@x", "joy"]),
    ]:
        store.append(set_flag(client, text, labels))

    result = run_cli("review", "--flag-dir", str(tmp_path / "flags"), "--output", str(tmp_path / "review.csv"))

    assert result.returncode == 0, result.stderr
    tuesday, glad, formula = read_sheet(tmp_path / "review.csv")  # 3 clients each: by text
    assert list(glad) == review.SET_COLUMNS and "corrected_label" not in glad
    assert review.SET_COLUMNS == [
        "accept", "text", "corrected_labels", "training_label", "votes", "clients", "agreement", "flags", "last_flag",
    ]  # fmt: skip
    assert (glad["corrected_labels"], glad["votes"], glad["agreement"]) == ("anger;joy", "anger;joy:2 joy:1", "0.67")
    assert (tuesday["corrected_labels"], tuesday["votes"], tuesday["agreement"]) == ("", "(none):2 love:1", "0.67")
    assert (formula["text"], formula["corrected_labels"], formula["agreement"]) == ("'=1+1 formula", "'@x;joy", "")


def test_a_sheet_of_both_kinds_has_both_label_columns_and_a_row_per_kind(tmp_path):
    store = store_with_flags(tmp_path / "flags", [("hf:ann", "mad and glad", "anger"), ("hf:bob", "plain", "joy")])
    store.append(set_flag("hf:cy", "Mad and  glad", ["anger", "joy"]))
    rows = review.review_rows(flags.read_records(tmp_path / "flags"))
    sheet = read_sheet(review.write_review(rows, tmp_path / "review.csv"))
    assert list(sheet[0]) == [*review.COLUMNS[:3], "corrected_labels", *review.COLUMNS[3:]]
    rows = {(row["text"], row["corrected_label"], row["corrected_labels"]) for row in sheet}
    assert rows == {("mad and glad", "anger", ""), ("Mad and glad", "", "anger;joy"), ("plain", "joy", "")}


def test_review_data_other_than_a_txt_is_refused_in_one_line(tmp_path):
    """space/ cannot import training's readers: a CSV, JSON lines or Parquet --data is refused, never misread as
    text;label lines (issue 29)."""
    store_with_flags(tmp_path / "flags", [("c", "a text", "joy")])
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("text,label\na text,joy\n", encoding="utf-8")
    as_file = review_cli(tmp_path, str(data / "train.csv"))
    assert as_file.returncode == 2 and "Traceback" not in as_file.stderr
    assert as_file.stderr.strip() == (
        f"flags error: {data / 'train.csv'}: a .csv — --data reads only a text;label .txt file (or a folder with "
        "train.txt): write the training split as one, or leave --data out"
    )
    (data / "train.jsonl").write_text('{"text": "a text", "label": "joy"}\n', encoding="utf-8")
    as_folder = review_cli(tmp_path, str(data))
    assert as_folder.returncode == 2 and as_folder.stderr.strip() == (
        f"flags error: {data}: no train.txt (found train.csv, train.jsonl) — --data reads only a text;label file or "
        "a folder with train.txt: write the training split as train.txt, or leave --data out"
    )
    assert not (tmp_path / "r.csv").exists()
    (data / "train.txt").write_text("a text;sadness\n", encoding="utf-8")
    assert review_cli(tmp_path, str(data)).returncode == 0  # the folder's train.txt is read
    assert "sadness" in (tmp_path / "r.csv").read_text(encoding="utf-8")
