"""Flags from strangers: one vote per client, --min-votes, --max-new-per-client, the owner's hand-made and
reviewed corrections, and the summary that says who sent what and what was dropped."""

from __future__ import annotations

import csv
import json

import pytest
from datasets import Dataset

from tests.training.test_corrections import LABELS, flag, write_jsonl
from training.config import parse_config
from training.corrections.agreement import krippendorff_alpha
from training.corrections.apply import apply_corrections, format_summary
from training.corrections.merge import DEFAULT_MAX_NEW_ANONYMOUS, merge_corrections
from training.corrections.records import load_flag_records
from training.errors import ToolkitError

TEXTS = ["i feel calm today", "the bus was late again", "my cat knocked over a glass"]
TRAIN = ["joy", "anger", "surprise"]


def at(minute: int) -> str:
    return f"2026-01-01T10:{minute:02d}:00Z"


def reasons(summary) -> dict[str, str]:
    return {r["id"]: r["code"] for r in summary["rejections"]}


def test_one_client_flooding_a_text_counts_once_and_loses_to_two_others():
    flood = [flag(f"x{i}", TEXTS[0], "anger", time=at(i), client="anon:flooder") for i in range(30)]
    honest = [flag("y", TEXTS[0], "fear", time=at(40), client="hf:yan"), flag("z", TEXTS[0], "fear", client="hf:zoe")]

    # Counting every client's vote (anonymous ones too): the rule of one vote per client alone.
    _, labels, summary = merge_corrections(TEXTS, TRAIN, flood + honest, LABELS, trust_anonymous_votes=True)

    assert labels[0] == "fear"
    assert summary["used"] == 2 and summary["rejected"] == 30
    assert summary["dropped"] == {"superseded": 29, "outvoted": 1}
    assert summary["clients"]["anon:flooder"] == {"flags": 30, "used": 0, "rejected": 30}
    assert summary["clients"]["hf:yan"] == {"flags": 1, "used": 1, "rejected": 0}
    assert summary["flags_read"] == summary["used"] + summary["rejected"]


def test_a_clients_latest_flag_on_a_text_is_its_vote():
    records = [
        flag("a1", TEXTS[1], "fear", time=at(1), client="hf:ann"),
        flag("a2", TEXTS[1], "sadness", time=at(5), client="hf:ann"),  # ann changed her mind
        flag("b", TEXTS[1], "sadness", time=at(2), client="hf:bob"),
    ]
    _, labels, summary = merge_corrections(TEXTS, TRAIN, records, LABELS)
    assert labels[1] == "sadness" and reasons(summary) == {"a1": "superseded"}


def test_min_votes_needs_that_many_distinct_clients():
    one = [flag("a", TEXTS[2], "fear", client="hf:ann"), flag("a2", TEXTS[2], "fear", time=at(9), client="hf:ann")]
    _, labels, summary = merge_corrections(TEXTS, TRAIN, one, LABELS, min_votes=2)
    assert labels == TRAIN and summary["used"] == 0
    assert reasons(summary) == {"a": "superseded", "a2": "below_min_votes"}
    assert "1 client(s) agree on 'fear'; --min-votes 2 needed" in summary["rejections"][1]["reason"]

    two = [*one, flag("b", TEXTS[2], "fear", client="hf:bob")]
    _, labels, summary = merge_corrections(TEXTS, TRAIN, two, LABELS, min_votes=2)
    assert labels[2] == "fear" and summary["used"] == 2
    _, labels, _ = merge_corrections(TEXTS, TRAIN, two, LABELS, min_votes=3)
    assert labels == TRAIN


def test_old_records_without_client_are_one_anonymous_client_each():
    old = [{k: v for k, v in flag(i, TEXTS[0], "love").items() if k != "client"} for i in ("o1", "o2")]
    _, labels, summary = merge_corrections(TEXTS, TRAIN, old, LABELS, min_votes=2, trust_anonymous_votes=True)
    assert labels[0] == "love"
    assert set(summary["clients"]) == {"anonymous:o1", "anonymous:o2"}
    _, labels, summary = merge_corrections(TEXTS, TRAIN, old, LABELS, min_votes=2)  # the default: a proposal
    assert labels[0] == "joy" and summary["proposals"] == [{"text": TEXTS[0], "label": "love", "clients": 2}]


def test_max_new_per_client_caps_the_texts_one_client_adds_earliest_first():
    records = [flag(f"n{i}", f"made up tweet {i}", "joy", time=at(i), client="anon:eager") for i in range(5)]
    records.append(flag("other", "a real new tweet", "joy", client="hf:ann"))

    texts, _, summary = merge_corrections(TEXTS, TRAIN, records, LABELS, min_votes=1, max_new_per_client=2)

    assert texts[len(TEXTS) :] == ["made up tweet 0", "made up tweet 1", "a real new tweet"]
    assert summary["added"] == 3 and summary["dropped"] == {"over_new_cap": 3}
    assert {i for i, code in reasons(summary).items()} == {"n2", "n3", "n4"}
    texts, _, _ = merge_corrections(TEXTS, TRAIN, records, LABELS, min_votes=1, max_new_per_client=None)
    assert len(texts) == len(TEXTS) + 6


def write_rows(path, header, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_hand_made_csv_and_jsonl_need_only_text_and_label(tmp_path):
    csv_path = write_rows(
        tmp_path / "fixes.csv",
        ["text", "corrected_label"],
        [[TEXTS[0], "sadness"], [TEXTS[1], "joy"], [TEXTS[1], "fear"], ["a brand new tweet", "love"]],
    )
    jsonl_path = write_jsonl(tmp_path / "fixes.jsonl", [{"text": TEXTS[0], "label": "sadness"}])

    records = load_flag_records(csv_path)
    again = load_flag_records(csv_path)
    assert [r["id"] for r in records] == [r["id"] for r in again]  # stable ids, derived from text and label
    assert len({r["id"] for r in records}) == 4 and all(r["time"] is None for r in records)
    assert load_flag_records(jsonl_path)[0]["id"] == records[0]["id"]  # `label` is read as corrected_label

    texts, labels, summary = merge_corrections(TEXTS, TRAIN, records, LABELS)  # the defaults: --min-votes 2
    # The owner's rows need no votes; of two rows on one text the later in the file wins.
    assert labels[: len(TEXTS)] == ["sadness", "fear", "surprise"]
    assert texts[len(TEXTS) :] == ["a brand new tweet"] and labels[len(TEXTS) :] == ["love"]
    assert (summary["without_id"], summary["without_time"]) == (4, 4)
    assert "4 records had no id (derived from text and label), 4 had no time" in format_summary(
        {"source": "fixes.csv", **summary}
    )


def test_the_owners_correction_decides_its_text_whatever_the_votes(tmp_path):
    crowd = [flag(f"c{i}", TEXTS[0], "anger", client=f"anon:{i}") for i in range(5)]
    owner = load_flag_records(write_rows(tmp_path / "f.csv", ["text", "label"], [[TEXTS[0], "love"]]))
    _, labels, summary = merge_corrections(TEXTS, TRAIN, crowd + owner, LABELS)
    assert labels[0] == "love" and summary["dropped"] == {"owner_decided": 5}


def test_review_sheet_uses_only_accepted_rows(tmp_path):
    sheet = write_rows(
        tmp_path / "review.csv",
        ["accept", "text", "corrected_label", "training_label", "votes", "clients", "flags"],
        [
            ["y", TEXTS[0], "sadness", "joy", "sadness:1", "1", "1"],
            ["", TEXTS[1], "fear", "anger", "fear:3", "3", "7"],
            ["no", TEXTS[2], "joy", "surprise", "joy:2", "2", "2"],
            ["X", "a new one", "love", "", "love:1", "1", "1"],
        ],
    )
    _, labels, summary = merge_corrections(TEXTS, TRAIN, load_flag_records(sheet), LABELS)
    assert labels == ["sadness", "anger", "surprise", "love"]
    assert summary["dropped"] == {"not_accepted": 2} and summary["used"] == 2

    bad = write_rows(tmp_path / "bad.csv", ["accept", "text", "corrected_label"], [["maybe", "t", "joy"]])
    with pytest.raises(ToolkitError, match=r"bad.csv line 2: field 'accept' is 'maybe' — expected y/yes"):
        load_flag_records(bad)


def space_store(tmp_path, texts: list[str], note: str = ""):
    """A Space flag store holding one flag (to joy) for each of ``texts``."""
    from space.flags import FlagStore, make_record

    store = FlagStore(tmp_path / "store")
    for text in texts:
        store.append(
            make_record(
                text=text,
                scores={"joy": 1.0},
                corrected_label="joy",
                note=note,
                model="m",
                model_revision=None,
                client="c",
            )
        )
    return store


def test_a_spreadsheet_safe_export_reads_back_verbatim(tmp_path):
    from space.flags import export

    store = space_store(tmp_path, ["=cmd|' /C calc'!A0", "-_- so bored", "'=already"], note="+1")
    assert load_flag_records(export(store.records(), tmp_path / "flags.csv")) == store.records()


def test_options_and_summary_file(tmp_path):
    config, _ = parse_config(["--corrections", "flags/", "--min-votes", "3", "--max-new-per-client", "0"])
    assert (config.min_votes, config.max_new_per_client) == (3, 0)
    assert parse_config([])[0].min_votes == 2
    with pytest.raises(ToolkitError, match="--min-votes must be >= 1"):
        parse_config(["--min-votes", "0"])
    _, _, summary = merge_corrections(TEXTS, TRAIN, [flag("a", TEXTS[0], "fear")], LABELS)
    assert json.loads(json.dumps(summary))["clients"] == {"anon:a": {"flags": 1, "used": 0, "rejected": 1}}


def test_ten_thousand_made_up_anonymous_clients_cannot_relabel_a_training_text():
    """The flood that relabelled sadness -> joy over two honest dissenters: now a proposal and two warnings."""
    texts, train = ["i miss you so much", *TEXTS], ["sadness", *TRAIN]
    flood = [flag(f"f{i}", texts[0], "joy", time=at(i % 60), client=f"anon:{i:016x}") for i in range(10_000)]
    honest = [flag(f"h{i}", texts[0], "sadness", time=at(59), client=f"anon:honest{i}") for i in range(2)]
    _, labels, summary = merge_corrections(texts, train, flood + honest, LABELS)
    assert labels == train
    assert summary["proposals"] == [{"text": texts[0], "label": "joy", "clients": 10_000}]
    assert summary["dropped"] == {"anonymous": 10_002} and summary["used"] == 0
    assert len(summary["warnings"]) == 2
    assert summary["warnings"][0].startswith("10002 clients flagged one text ('i miss you so much')")
    assert "50 or more new clients within 10 minutes from 2026-01-01 10:00 UTC" in summary["warnings"][1]
    printed = format_summary({"source": "flags/", **summary})
    assert "proposal (anonymous clients only, 10000): 'joy' for 'i miss you so much'" in printed
    assert "WARNING: 10002 clients flagged one text" in printed


def test_signed_in_clients_relabel_and_anonymous_ones_still_add_new_texts():
    votes = [flag("a", TEXTS[0], "love", client="hf:ann"), flag("b", TEXTS[0], "love", client="hf:bob")]
    votes += [flag("c", TEXTS[0], "anger", client="anon:c")]  # not counted against them: rejected as anonymous
    new = [flag(f"n{i}", "a brand new tweet", "fear", client=f"anon:n{i}") for i in range(2)]
    texts, labels, summary = merge_corrections(TEXTS, TRAIN, votes + new, LABELS)
    assert labels[0] == "love" and summary["dropped"] == {"anonymous": 1}
    assert texts[-1] == "a brand new tweet" and labels[-1] == "fear"
    assert summary["warnings"] == [] and summary["trust_anonymous_votes"] is False
    config, _ = parse_config(["--corrections", "flags/", "--trust-anonymous-votes"])
    assert config.trust_anonymous_votes and not parse_config([])[0].trust_anonymous_votes


def test_new_clients_spread_over_hours_are_no_burst():
    spread = [
        flag(f"s{i}", f"tweet {i}", "joy", time=f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00:00Z") for i in range(60)
    ]
    assert merge_corrections(TEXTS, TRAIN, spread, LABELS)[2]["warnings"] == []


def test_of_two_identical_review_rows_the_accepted_one_wins(tmp_path):
    header = ["accept", "text", "corrected_label"]
    rows = [["", TEXTS[0], "love"], ["y", TEXTS[0], "love"]]  # the owner marked the second copy
    _, labels, summary = merge_corrections(
        TEXTS, TRAIN, load_flag_records(write_rows(tmp_path / "r.csv", header, rows)), LABELS
    )
    assert labels[0] == "love" and summary["used"] == 1 and summary["duplicates"] == 1
    _, labels, _ = merge_corrections(
        TEXTS, TRAIN, load_flag_records(write_rows(tmp_path / "s.csv", header, rows[::-1])), LABELS
    )
    assert labels[0] == "love"  # whichever comes first


def test_control_and_bidi_characters_shown_escaped_in_the_csv_read_back_as_sent(tmp_path):
    """The Space's CSV export and review sheet show them escaped (a person must see them); training reads the
    text as it was sent, so an accepted row still matches its training text. Only what the export escapes is
    turned back: a typed backslash sequence for a visible character stays as it is."""
    from space.flags import export

    texts = ["\u202eevil reversed", "red \x1b[31malert\x1b[0m", "nul\x00byte", r"a typed \u0041 stays"]
    store = space_store(tmp_path, texts)
    exported = export(store.records(), tmp_path / "flags.csv").read_text(encoding="utf-8")
    assert "\\u202e" in exported and "\x1b" not in exported  # a person sees them escaped
    assert [r["text"] for r in load_flag_records(tmp_path / "flags.csv")] == texts


# --- Issue 29: what counts in the agreement, the cap on anonymous new texts, one CSV rule -------------------


def test_agreement_is_measured_on_the_votes_that_count_and_names_those_left_out():
    """Two signed-in flaggers who often disagree; 600 made-up anonymous clients agreeing on 30 texts must neither
    lift alpha nor hide the warning."""
    pairs = [("love", "love"), ("fear", "anger"), ("joy", "joy"), ("sadness", "fear"), ("anger", "anger")]
    people = [
        flag(f"{who}{i}", f"signed-in tweet {i}", label, client=f"hf:{who}")
        for i, labels in enumerate(pairs)
        for who, label in zip(("ann", "bob"), labels, strict=True)
    ]
    flood = [flag(f"f{i}", f"made up tweet {i % 30}", "joy", client=f"anon:{i:04x}") for i in range(600)]
    alpha = round(krippendorff_alpha([list(labels) for labels in pairs]), 3)
    assert alpha < 0.67

    _, _, alone = merge_corrections(TEXTS, TRAIN, people, LABELS)
    _, _, flooded = merge_corrections(TEXTS, TRAIN, people + flood, LABELS)
    assert alone["agreement"]["alpha"] == flooded["agreement"]["alpha"] == alpha
    assert flooded["agreement"]["texts"] == 5 and flooded["agreement"]["left_out"] == 600
    printed = format_summary({"source": "flags/", **flooded})
    assert (
        f"agreement: Krippendorff's alpha {alpha:.2f} over 5 texts with 2+ clients (600 anonymous votes left out; "
        "--trust-anonymous-votes counts them) — below 0.67: let the review sheet decide"
    ) in printed

    _, _, trusted = merge_corrections(TEXTS, TRAIN, people + flood, LABELS, trust_anonymous_votes=True)
    assert trusted["agreement"]["alpha"] > 0.67 and "left_out" not in trusted["agreement"]  # what the flood did
    assert "let the review sheet decide" not in format_summary({"source": "flags/", **trusted})


def test_agreement_of_anonymous_votes_only_says_they_were_left_out():
    votes = [flag(f"a{i}", TEXTS[0], "fear", client=f"anon:{i}") for i in range(3)]
    _, _, summary = merge_corrections(TEXTS, TRAIN, votes, LABELS)
    assert summary["agreement"] == {
        "texts": 0,
        "alpha": None,
        "votes": 0,
        "agree_with_model": None,
        "left_out": 3,
    }
    assert "agreement: no text has votes of 2+ signed-in clients (3 anonymous votes left out" in format_summary(
        {"source": "flags/", **summary}
    )


def test_made_up_anonymous_pairs_add_at_most_max_new_anonymous_texts_earliest_first():
    pairs = [
        flag(f"p{i}{side}", f"made up tweet {i}", "joy", time=at(i), client=f"anon:{i}{side}")
        for i in range(40)
        for side in "ab"
    ]
    signed = [flag(f"s{who}", "a real new tweet", "fear", time=at(59), client=f"hf:{who}") for who in ("ann", "bob")]
    mixed = [  # one signed-in client among the winners: not "only anonymous"
        flag("m1", "a shared new tweet", "love", time=at(58), client="hf:cy"),
        flag("m2", "a shared new tweet", "love", time=at(58), client="anon:m2"),
    ]

    texts, labels, summary = merge_corrections(TEXTS, TRAIN, pairs + signed + mixed, LABELS, max_new_anonymous=5)

    added = texts[len(TEXTS) :]
    assert added == [*(f"made up tweet {i}" for i in range(5)), "a real new tweet", "a shared new tweet"]
    assert labels[len(TEXTS) :] == ["joy"] * 5 + ["fear", "love"]
    assert summary["added"] == 7 and summary["anonymous_new_capped"] == 35
    assert summary["dropped"] == {"over_anonymous_cap": 70}
    assert summary["flags_read"] == summary["used"] + summary["rejected"] == 84
    assert "--max-new-anonymous" in summary["rejections"][0]["reason"]
    printed = format_summary({"source": "flags/", **summary})
    assert "35 new texts chosen only by anonymous clients not added (--max-new-anonymous 5)" in printed

    texts, _, summary = merge_corrections(TEXTS, TRAIN, pairs, LABELS, max_new_anonymous=None)
    assert len(texts) == len(TEXTS) + 40 and summary["anonymous_new_capped"] == 0
    assert merge_corrections(TEXTS, TRAIN, pairs, LABELS)[2]["added"] == DEFAULT_MAX_NEW_ANONYMOUS


def test_max_new_anonymous_is_an_option_beside_max_new_per_client(tmp_path):
    config, _ = parse_config(["--corrections", "flags/", "--max-new-anonymous", "3"])
    assert config.max_new_anonymous == 3 and parse_config([])[0].max_new_anonymous == DEFAULT_MAX_NEW_ANONYMOUS
    train = Dataset.from_dict({"text": TEXTS, "label": [1, 3, 5]})
    fixes = write_jsonl(tmp_path / "flags.jsonl", [flag("a", TEXTS[0], "fear")])
    with pytest.raises(ToolkitError, match=r"^config error: --max-new-anonymous must be >= 0 \(0: no cap\), got -1$"):
        apply_corrections(train, LABELS, fixes, max_new_anonymous=-1)


def test_a_corrections_csv_row_with_more_fields_than_its_header_is_one_line(tmp_path):
    """What a person types into a sheet: the set's comma unquoted. The 'love' was dropped in silence."""
    path = tmp_path / "fixes.csv"
    path.write_text("text,labels\nso scared,fear\ni love this so much,joy,love\n", encoding="utf-8")
    with pytest.raises(ToolkitError) as err:
        load_flag_records(path)
    assert str(err.value) == (
        f"corrections error: {path} line 3: 3 field(s), but the header has 2 (text, labels) — put a cell that "
        'contains a comma in double quotes ("well, i feel happy today", "joy,love")'
    )
    path.write_text('text,labels\ni love this so much,"joy,love"\n', encoding="utf-8")
    assert load_flag_records(path)[0]["corrected_labels"] == "joy,love"  # a set, read by votes.py
    review = tmp_path / "review.csv"
    review.write_text("accept,text,corrected_label\ny,so scared\n", encoding="utf-8")  # one field short
    with pytest.raises(ToolkitError, match=r"review.csv line 2: 2 field\(s\), but the header has 3"):
        load_flag_records(review)
