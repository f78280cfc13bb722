"""Flag records merged into the training split: reading every input kind, and each merge rule."""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Value

from tests.conftest import make_texts
from training.corrections.apply import apply_corrections, format_summary
from training.corrections.merge import merge_corrections
from training.corrections.records import FIELDS, load_flag_records
from training.errors import ToolkitError

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def flag(id_, text, label, time="2026-01-01T10:00:00Z", **extra):
    """A flag record as the Space writes it (from a client of its own unless ``client`` is given)."""
    return {
        "id": id_,
        "time": time,
        "text": text,
        "predicted_label": "joy",
        "scores": {"joy": 0.7, "surprise": 0.3},
        "corrected_label": label,
        "note": "",
        "model": "me/model",
        "model_revision": "abc",
        "client": f"anon:{id_}",
        **extra,
    }


def merge_one_vote(*args, **options):
    """merge_corrections with --min-votes 1, anonymous votes counted: the tests of the other rules send one flag
    per text from anonymous clients (the rules on votes: test_corrections_votes.py)."""
    return merge_corrections(*args, **{"min_votes": 1, "trust_anonymous_votes": True, **options})


def write_jsonl(path: Path, records, torn: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(body + (torn or ""), encoding="utf-8")
    return path


def write_csv(path: Path, records) -> Path:
    """The export format of ``python -m space.flags export --out x.csv``: scores as a JSON string."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for r in records:
            writer.writerow({**r, "scores": json.dumps(r["scores"])})
    return path


@pytest.fixture
def noisy_train():
    """Training rows with the true labels, and the same rows with every 7th label deliberately wrong."""
    truth = make_texts(LABELS, 6, seed=11)
    texts = [t for t, _ in truth]
    gold = [lab for _, lab in truth]
    noisy = list(gold)
    wrong = list(range(0, len(gold), 7))
    for i in wrong:
        noisy[i] = LABELS[(LABELS.index(gold[i]) + 1) % len(LABELS)]
    return texts, gold, noisy, wrong


# ----------------------------------------------------------------------------- merge rules


def test_flags_correct_the_wrong_training_labels(noisy_train):
    texts, gold, noisy, wrong = noisy_train
    records = [flag(f"f{i}", texts[i], gold[i]) for i in wrong]

    new_texts, new_labels, summary = merge_one_vote(texts, noisy, records, LABELS)

    assert new_texts == texts  # relabelled in place, nothing added
    assert new_labels == gold
    assert summary["relabelled"] == len(wrong) == summary["used"] == summary["flags_read"]
    assert summary["added"] == summary["rejected"] == summary["conflicts_resolved"] == 0


def test_match_ignores_case_and_extra_whitespace(noisy_train):
    texts, gold, noisy, wrong = noisy_train
    i = wrong[0]
    shouted = "  " + texts[i].upper().replace(" ", " \t ") + "\n"

    new_texts, new_labels, summary = merge_one_vote(texts, noisy, [flag("a", shouted, gold[i])], LABELS)

    assert new_labels[i] == gold[i] and len(new_texts) == len(texts)
    assert summary["relabelled"] == 1 and summary["added"] == 0


def test_every_copy_of_a_duplicated_training_text_is_relabelled():
    texts, labels = ["i feel stunned", "i feel glad", "i feel stunned"], ["joy", "joy", "joy"]
    _, new_labels, summary = merge_one_vote(texts, labels, [flag("a", "i feel stunned", "surprise")], LABELS)
    assert new_labels == ["surprise", "joy", "surprise"]
    assert summary["relabelled"] == 2 and summary["used"] == 1


def test_flag_agreeing_with_the_data_is_used_but_changes_nothing(noisy_train):
    texts, _gold, noisy, wrong = noisy_train
    right = next(i for i in range(len(texts)) if i not in wrong)
    _, new_labels, summary = merge_one_vote(texts, noisy, [flag("a", texts[right], noisy[right])], LABELS)
    assert new_labels == noisy
    assert summary["used"] == 1 and summary["relabelled"] == 0 and summary["unchanged"] == 1


def test_new_text_is_added_to_training_only_once_with_the_latest_wording(noisy_train):
    texts, _gold, noisy, _ = noisy_train
    records = [
        flag("a", "what a  twist", "surprise", time="2026-01-01T10:00:00Z"),
        flag("b", "What a twist ", "surprise", time="2026-01-02T10:00:00Z"),
    ]

    new_texts, new_labels, summary = merge_one_vote(texts, noisy, records, LABELS)

    assert new_texts == [*texts, "What a twist"]
    assert new_labels == [*noisy, "surprise"]
    assert summary["added"] == 1 and summary["used"] == 2 and summary["relabelled"] == 0


def test_new_text_from_validation_or_test_is_rejected_but_training_copy_is_relabelled(noisy_train):
    texts, gold, noisy, wrong = noisy_train
    test_texts = ["i am shocked by the news", texts[wrong[0]]]  # the second is in train and test alike
    records = [flag("leak", "I am shocked by the news", "surprise"), flag("ok", texts[wrong[0]], gold[wrong[0]])]

    new_texts, new_labels, summary = merge_one_vote(texts, noisy, records, LABELS, held_out_texts=test_texts)

    assert "i am shocked by the news" not in {t.lower() for t in new_texts}
    assert new_labels[wrong[0]] == gold[wrong[0]]
    assert summary["added"] == 0 and summary["relabelled"] == 1
    [rejection] = summary["rejections"]
    assert rejection["id"] == "leak" and rejection["text"] == "I am shocked by the news"
    assert "test/validation split" in rejection["reason"]


def test_conflicting_flags_resolve_by_majority_then_latest(noisy_train):
    texts, _gold, noisy, _ = noisy_train
    a, b = texts[1], texts[2]
    records = [
        # text a: two say surprise (the older ones), one says fear (the latest) -> majority wins
        flag("a1", a, "surprise", time="2026-01-01T08:00:00Z"),
        flag("a2", a, "surprise", time="2026-01-01T09:00:00Z"),
        flag("a3", a, "fear", time="2026-01-03T00:00:00Z"),
        # text b: one each -> latest wins; 10:30+02:00 is 08:30Z, earlier than 09:00Z
        flag("b1", b, "anger", time="2026-01-01T10:30:00+02:00"),
        flag("b2", b, "love", time="2026-01-01T09:00:00Z"),
    ]

    _, new_labels, summary = merge_one_vote(texts, noisy, records, LABELS)

    assert new_labels[1] == "surprise" and new_labels[2] == "love"
    assert summary["conflicts_resolved"] == 2
    assert summary["used"] == 3 and summary["rejected"] == 2
    reasons = {r["id"]: r["reason"] for r in summary["rejections"]}
    assert set(reasons) == {"a3", "b1"}
    assert reasons["a3"].startswith("outvoted") and reasons["b1"].startswith("tie")


def test_bad_flags_are_rejected_with_reasons_and_duplicate_ids_count_once(noisy_train):
    texts, gold, noisy, wrong = noisy_train
    i = wrong[0]
    records = [
        flag("good", texts[i], gold[i]),
        flag("good", texts[i], gold[i]),  # the same flag read twice (local store + pulled copy)
        flag("unknown", texts[i], "boredom"),
        flag("blank", "   ", "joy"),
        flag("nolabel", texts[i], None),
    ]

    _, new_labels, summary = merge_one_vote(texts, noisy, records, LABELS)

    assert new_labels[i] == gold[i]
    assert summary["flags_read"] == 4 and summary["duplicates"] == 1
    assert summary["used"] == 1 and summary["rejected"] == 3
    assert summary["flags_read"] == summary["used"] + summary["rejected"]
    reasons = {r["id"]: r["reason"] for r in summary["rejections"]}
    assert "'boredom' is not a class" in reasons["unknown"] and "sadness, joy" in reasons["unknown"]
    assert reasons["blank"] == "empty text"
    assert reasons["nolabel"] == "no corrected label"


# ----------------------------------------------------------------------------- the datasets wrapper


def test_apply_corrections_keeps_features_and_leaves_evaluation_splits_alone(tiny_data_dir, tmp_path):
    def read(name):
        return [line.rsplit(";", 1) for line in (tiny_data_dir / f"{name}.txt").read_text().splitlines()]

    train = read("train")
    held_out_before = {name: (tiny_data_dir / f"{name}.txt").read_bytes() for name in ("validation", "test")}
    held_out = [t for name in ("validation", "test") for t, _ in read(name)]
    truth = [LABELS.index(lab) for _, lab in train]
    noisy = [(y + 1) % 6 if i % 5 == 0 else y for i, y in enumerate(truth)]
    features = Features({"text": Value("string"), "label": ClassLabel(names=LABELS)})
    dataset = Dataset.from_dict({"text": [t for t, _ in train], "label": noisy}, features=features)
    flags = write_jsonl(
        tmp_path / "flags" / "flags-1.jsonl",
        [flag(f"f{i}", train[i][0], train[i][1]) for i in range(0, len(train), 5)]
        + [flag("new", "totally unexpected ending", "surprise"), flag("leak", held_out[0], "joy")],
    )

    merged, summary = apply_corrections(
        dataset, LABELS, flags.parent, held_out_texts=held_out, min_votes=1, trust_anonymous_votes=True
    )

    assert merged.features == features
    assert merged["label"] == [*truth, LABELS.index("surprise")]
    assert merged["text"] == [t for t, _ in train] + ["totally unexpected ending"]
    assert {name: (tiny_data_dir / f"{name}.txt").read_bytes() for name in held_out_before} == held_out_before
    assert summary["source"] == "flags/"  # corrections.json is published: the folder's name, not its path
    assert set(summary) >= {
        "source",
        "flags_read",
        "used",
        "relabelled",
        "added",
        "rejected",
        "rejections",
        "conflicts_resolved",
    }
    assert (summary["relabelled"], summary["added"], summary["rejected"]) == (len(range(0, len(train), 5)), 1, 1)
    json.dumps(summary)  # corrections.json must be writable as is


# ----------------------------------------------------------------------------- reading inputs


def test_folder_reads_every_jsonl_and_pulled_data_folder_ignoring_a_torn_last_line(tmp_path, caplog):
    write_jsonl(
        tmp_path / "flags-a.jsonl",
        [flag("a1", "x", "joy"), flag("a2", "y", "fear")],
        torn='{"id": "a3", "time": "2026-01-01T10:00:00Z", "te',
    )
    write_jsonl(tmp_path / "flags-b.jsonl", [flag("b1", "z", "love")])
    write_jsonl(tmp_path / "data" / "flags-c.jsonl", [flag("c1", "w", "anger")])
    (tmp_path / "notes.txt").write_text("not a flag file\n")

    with caplog.at_level(logging.WARNING, logger="training.corrections.records"):
        records = load_flag_records(tmp_path)

    assert [r["id"] for r in records] == ["a1", "a2", "b1", "c1"]
    assert records[0] == flag("a1", "x", "joy")
    assert "flags-a.jsonl line 3" in caplog.text


def test_jsonl_and_csv_exports_read_back_the_same_records(tmp_path):
    records = [flag("1", 'she said "wow", then; left', "surprise"), flag("2", "two\nlines", "joy", note="typo?")]
    from_jsonl = load_flag_records(write_jsonl(tmp_path / "flags.jsonl", records))
    from_csv = load_flag_records(write_csv(tmp_path / "flags.csv", records))
    assert from_jsonl == records
    assert from_csv == records  # scores decoded from their JSON string; every other field a string


def test_reads_what_the_space_flag_store_writes_and_exports(tmp_path):
    from space.flags import FlagStore, export, make_record

    store = FlagStore(tmp_path / "store")
    for text, label in [("wow, did not see that coming", "surprise"), ('i feel "fine"; really', "joy")]:
        store.append(
            make_record(
                text=text,
                scores={"joy": 0.8, "surprise": 0.2},
                corrected_label=label,
                note="",
                model="runs/v1",
                model_revision=None,
                client="hf:alice",
            )
        )
    written = store.records()

    assert sorted(load_flag_records(store.flag_dir), key=lambda r: r["time"]) == written
    assert load_flag_records(export(written, tmp_path / "flags.jsonl")) == written
    assert load_flag_records(export(written, tmp_path / "flags.csv")) == written


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        (
            json.dumps({k: v for k, v in flag("x", "t", "joy").items() if k != "corrected_label"}),
            "line 2: missing field 'corrected_label'",
        ),
        (json.dumps(flag("x", "t", "joy", time="yesterday")), "line 2: field 'time' 'yesterday' is not an ISO 8601"),
        (json.dumps(flag("", "t", "joy")), "line 2: field 'id' must be a non-empty string"),
        (json.dumps(flag("x", 42, "joy")), "line 2: field 'text' must be a string"),
    ],
)
def test_broken_jsonl_record_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "flags.jsonl"
    path.write_text(json.dumps(flag("ok", "fine", "joy")) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match="flags.jsonl " + message.replace("(", r"\(")):
        load_flag_records(path)


def test_broken_csv_names_file_and_line(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("id,time,text\n1,2026-01-01T00:00:00Z,hi\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match=r"flags.csv line 1: header lacks column\(s\) corrected_label"):
        load_flag_records(path)
    write_csv(path, [flag("1", "ok", "joy"), flag("2", "bad", "joy")])
    path.write_text(path.read_text().replace("2026-01-01T10:00:00Z,bad", "soon,bad"), encoding="utf-8")
    with pytest.raises(ToolkitError, match=re.escape("flags.csv line 3: field 'time' 'soon'")):
        load_flag_records(path)
    write_csv(path, [flag("1", "ok", "joy")])
    path.write_text(path.read_text().replace('"{""joy"": 0.7, ""surprise"": 0.3}"', "{oops"), encoding="utf-8")
    with pytest.raises(ToolkitError, match=re.escape("flags.csv line 2: field 'scores' is not a JSON object")):
        load_flag_records(path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such file or folder"),
        (lambda p: p, "no flag files"),
        (lambda p: (p / "flags.txt").write_text("x") and p / "flags.txt", "unsupported file type"),
    ],
)
def test_unusable_source_gives_a_clear_error(tmp_path, make, message):
    with pytest.raises(ToolkitError, match=message):
        load_flag_records(make(tmp_path))


def test_format_summary_lists_counts_and_first_rejections(noisy_train):
    texts, gold, noisy, wrong = noisy_train
    records = [flag(f"bad{i}", texts[0], "boredom") for i in range(3)] + [flag("ok", texts[wrong[0]], gold[wrong[0]])]
    _, _, summary = merge_one_vote(texts, noisy, records, LABELS)

    text = format_summary({"source": "flags/", **summary}, limit=2)

    assert text.splitlines()[0].startswith("corrections from flags/: 4 flags read, 1 used (1 training rows relabelled")
    assert text.count("rejected bad") == 2 and "... and 1 more" in text
