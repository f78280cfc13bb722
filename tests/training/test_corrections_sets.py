"""Corrections for multi-label data (votes on sets), training.ask sheets, and the agreement figures."""

from __future__ import annotations

import csv
import json

import pytest
from datasets import ClassLabel, Dataset, Features, List, Value

from tests.training.test_corrections import flag, write_jsonl
from training.corrections.agreement import agreement_summary, krippendorff_alpha
from training.corrections.apply import apply_corrections, format_summary
from training.corrections.merge import merge_corrections
from training.corrections.records import FIELDS, load_flag_records

LABELS = ["anger", "fear", "joy", "love"]
TEXTS = ["what a day", "i miss you", "leave me alone", "so scared"]
TRAIN = [("joy",), ("love",), ("anger",), ()]


def set_flag(id_, text, labels, client, time="2026-01-01T10:00:00Z", predicted=("joy",)):
    """A multi-label model's flag record as the Space writes it (DESIGN.md)."""
    return {
        **flag(id_, text, None, time, client=client),
        "predicted_label": None,
        "predicted_labels": list(predicted),
        "scores": {name: 0.5 for name in LABELS},
        "corrected_labels": list(labels),
    }


def merge_sets(records, **options):
    return merge_corrections(TEXTS, TRAIN, records, LABELS, multi_label=True, **options)


# ----------------------------------------------------------------------------- Krippendorff's alpha


def test_alpha_matches_a_hand_computed_example():
    """Texts [a,a], [a,b], [b,b,b] and one unpairable [c]: coincidences o_aa = 2, o_ab = o_ba = 1, o_bb = 3
    (3·2 pairs / (3-1)); n_a = 3, n_b = 4, n = 7; alpha = 1 - (n-1)·(o_ab+o_ba) / (2·n_a·n_b) = 1 - 6·2/24 = 0.5."""
    assert krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "b", "b"], ["c"]]) == pytest.approx(0.5)


def test_alpha_is_one_for_full_agreement_and_undefined_without_pairs_or_variation():
    assert krippendorff_alpha([["a", "a"], ["b", "b", "b"]]) == pytest.approx(1.0)
    assert krippendorff_alpha([["a"], ["b"]]) is None  # no text has two answers
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None  # no variation to compare against
    # systematic disagreement is below 0
    assert krippendorff_alpha([["a", "b"], ["a", "b"], ["a", "b"]]) < 0


def test_agreement_summary_counts_texts_and_votes_with_the_model():
    summary = agreement_summary([["a", "a"], ["a", "b"], ["b", "b", "b"], ["c"]], [True, False, False, True])
    assert summary == {"texts": 3, "alpha": 0.5, "votes": 4, "agree_with_model": 0.5}


# ----------------------------------------------------------------------------- votes on sets


def test_a_training_text_is_relabelled_when_enough_clients_agree_on_the_same_set():
    records = [
        set_flag("1", "WHAT a  day", ["love", "joy"], "hf:ann"),  # ticked in another order: the same set
        set_flag("2", "what a day", ["joy", "love"], "hf:bob"),
        set_flag("3", "i miss you", ["love", "fear"], "hf:ann"),
        set_flag("4", "i miss you", ["love"], "hf:bob"),  # a different set: no two clients agree
    ]
    _, labels, summary = merge_sets(records)
    assert labels == [("joy", "love"), ("love",), ("anger",), ()]
    assert summary["relabelled"] == 1 and summary["dropped"] == {"below_min_votes": 2}
    assert "{love, fear}" not in json.dumps(summary) and "1 client(s) agree on {" in json.dumps(summary)


def test_a_clients_vote_is_their_latest_set_and_the_empty_set_is_a_vote():
    records = [
        set_flag("1", "so scared", ["fear"], "hf:ann", time="2026-01-01T10:00:00Z"),
        set_flag("2", "so scared", [], "hf:ann", time="2026-01-02T10:00:00Z"),  # changed her mind: none
        set_flag("3", "what a day", [], "hf:ann"),
        set_flag("4", "what a day", [], "hf:bob"),
    ]
    _, labels, summary = merge_sets(records)
    assert labels[0] == () and labels[3] == ()  # "what a day" now has no label; "so scared" unchanged
    assert summary["relabelled"] == 1 and summary["dropped"]["superseded"] == 1


def test_new_texts_and_proposals_carry_sets():
    records = [set_flag(str(i), "new tweet here", ["joy", "love"], f"hf:{i}") for i in range(2)]
    records += [set_flag(f"a{i}", "leave me alone", ["anger", "fear"], f"anon:{i}") for i in range(2)]
    texts, labels, summary = merge_sets(records)
    assert texts[-1] == "new tweet here" and labels[-1] == ("joy", "love")
    assert summary["proposals"] == [{"text": "leave me alone", "label": ["anger", "fear"], "clients": 2}]
    json.dumps(summary)


def test_unknown_labels_in_a_set_and_sets_on_single_label_data_are_rejected_with_reasons():
    _, _, summary = merge_sets([set_flag("1", "what a day", ["joy", "bliss"], "hf:ann")])
    assert summary["dropped"] == {"not_a_class": 1} and "'bliss'" in summary["rejections"][0]["reason"]
    _, _, summary = merge_corrections(["x"], ["joy"], [set_flag("1", "x", ["joy"], "hf:a")], LABELS, min_votes=1)
    assert summary["dropped"] == {"set_on_single_label": 1}


def test_agreement_is_computed_on_each_clients_latest_set():
    records = [
        set_flag("1", "what a day", ["joy"], "hf:ann", predicted=("joy",)),
        set_flag("2", "what a day", ["joy"], "hf:bob", predicted=("joy",)),
        set_flag("3", "i miss you", ["love"], "hf:ann", predicted=("joy",)),
        set_flag("4", "i miss you", ["fear", "love"], "hf:bob", predicted=("joy",)),
    ]
    _, _, summary = merge_sets(records)
    units = [[("joy",), ("joy",)], [("love",), ("fear", "love")]]
    assert summary["agreement"] == agreement_summary(units, [True, True, False, False])
    assert "Krippendorff's alpha" in format_summary({**summary, "source": "flags/"})


# ----------------------------------------------------------------------------- reading sets


def test_reads_space_records_old_records_and_hand_made_sets(tmp_path):
    space = set_flag("s1", "what a day", ["joy", "love"], "hf:ann")
    old = {k: v for k, v in flag("o1", "i miss you", "love").items() if k != "client"}
    records = load_flag_records(write_jsonl(tmp_path / "flags.jsonl", [space, old]))
    assert records == [space, old]
    hand = tmp_path / "hand.csv"
    hand.write_text('text,labels\nwhat a day,"joy,love"\nso scared,none\ni miss you,\n', encoding="utf-8")
    _, labels, summary = merge_sets(load_flag_records(hand))
    assert labels == [("joy", "love"), ("love",), ("anger",), ()]  # the owner's answers, no vote threshold
    assert summary["relabelled"] == 1 and summary["unchanged"] == 1 and summary["dropped"] == {"no_label": 1}


def test_the_space_csv_export_of_sets_reads_back_with_the_empty_set(tmp_path):
    records = [
        set_flag("1", "what a day", ["joy", "love"], "hf:ann"),
        set_flag("2", "so scared", [], "hf:ann", predicted=()),
        flag("3", "i miss you", "love"),
    ]
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=FIELDS)
        writer.writeheader()
        for record in records:  # the export's cells: a set `;`-joined, null as empty, scores as JSON
            cells = {k: ";".join(v) if isinstance(v, list) else "" if v is None else v for k, v in record.items()}
            writer.writerow({**cells, "scores": json.dumps(record["scores"])})
    assert load_flag_records(path) == records


def test_a_training_ask_sheet_gives_the_owners_labels_and_blank_rows_are_skipped_and_counted(tmp_path):
    sheet = tmp_path / "sheet.csv"
    rows = [
        ["rank", "id", "text", "suggested", "uncertainty", "label"],
        ["1", "17", "what a day", "joy 0.41 | love 0.38", "0.97", "joy;love"],
        ["2", "3", "brand new tweet", "fear 0.40 | anger 0.39", "0.95", "fear"],
        ["3", "8", "so scared", "fear 0.50 | anger 0.45", "0.90", ""],
        ["4", "9", "i miss you", "love 0.51 | joy 0.45", "0.88", "none"],
    ]
    with sheet.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    texts, labels, summary = merge_sets(load_flag_records(sheet))
    assert labels[:4] == [("joy", "love"), (), ("anger",), ()]
    assert (texts[-1], labels[-1]) == ("brand new tweet", ("fear",))
    assert summary["from_queue"] == {"rows": 4, "blank": 1, "used": 3}
    assert summary["flags_read"] == summary["used"] + summary["rejected"]
    assert "review queue (training.ask): 4 rows, 3 labels used, 1 left blank" in format_summary(
        {**summary, "source": "sheet.csv"}
    )


def test_a_json_lines_sheet_of_training_ask_reads_as_the_csv_one(tmp_path):
    rows = [
        {
            "rank": 1,
            "id": 17,
            "text": "what a day",
            "suggested": "joy 0.41",
            "uncertainty": 0.97,
            "label": ["joy", "love"],
        },
        {"rank": 2, "id": 3, "text": "brand new tweet", "suggested": "fear 0.40", "uncertainty": 0.95, "label": "fear"},
        {"rank": 3, "id": 8, "text": "so scared", "suggested": "fear 0.50", "uncertainty": 0.9, "label": None},
    ]
    texts, labels, summary = merge_sets(load_flag_records(write_jsonl(tmp_path / "sheet.jsonl", rows)))
    assert labels[0] == ("joy", "love") and (texts[-1], labels[-1]) == ("brand new tweet", ("fear",))
    assert summary["from_queue"] == {"rows": 3, "blank": 1, "used": 2}


def test_apply_corrections_on_a_multi_label_dataset_keeps_its_features(tmp_path):
    features = Features({"text": Value("string"), "label": List(ClassLabel(names=LABELS))})
    ids = [[LABELS.index(name) for name in labels] for labels in TRAIN]
    dataset = Dataset.from_dict({"text": TEXTS, "label": ids}, features=features)
    records = [set_flag(str(i), "so scared", ["fear"], f"hf:{i}") for i in range(2)]
    merged, summary = apply_corrections(dataset, LABELS, write_jsonl(tmp_path / "f.jsonl", records), multi_label=True)
    assert merged.features == features
    assert merged["label"] == [[2], [3], [0], [1]]
    assert summary["relabelled"] == 1


def test_training_with_corrections_on_multi_label_data_writes_corrections_json(tmp_path, tiny_backbone_dir):
    from formats.output_folder import CORRECTIONS_FILE, METRICS_FILE
    from tests.training.test_multilabel_data import write_jsonl as write_data
    from tests.training.test_multilabel_pipeline import OPTIONS
    from training.__main__ import main

    data = write_data(tmp_path / "data", sizes=(64, 24, 24))
    first = json.loads((data / "train.jsonl").read_text().splitlines()[0])
    labels = sorted(
        {name for line in (data / "train.jsonl").read_text().splitlines() for name in json.loads(line)["labels"]}
    )
    new_set = [name for name in labels if name not in first["labels"]][:2]
    flags = write_jsonl(
        tmp_path / "flags.jsonl", [set_flag(str(i), first["text"], new_set, f"hf:{i}") for i in range(2)]
    )
    out = tmp_path / "out"
    options = ["--data", str(data), "--label-column", "labels", "--model", str(tiny_backbone_dir), *OPTIONS]
    assert main([*options, "--corrections", str(flags), "--output-dir", str(out)]) == 0
    corrections = json.loads((out / CORRECTIONS_FILE).read_text())
    assert (corrections["relabelled"], corrections["used"], corrections["source"]) == (1, 2, "flags.jsonl")
    assert corrections["agreement"]["texts"] == 1 and corrections["agreement"]["alpha"] is None  # all agree
    assert json.loads((out / METRICS_FILE).read_text())["data"]["sizes"]["train"] == 64
