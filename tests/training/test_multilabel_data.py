"""Multi-label data: the three layouts, the empty label set, every bad cell, the checks per label."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import CUES
from training.config import parse_config
from training.data.labels import label_set_stats
from training.data.load import load_data
from training.errors import ToolkitError
from training.predict.inputs import open_input

LABELS = ["anger", "fear", "joy", "love"]


def label_sets(n: int, seed: int = 0) -> list[list[str]]:
    """Deterministic label sets: none, one, or two labels, every label well represented."""
    patterns = [[], ["joy"], ["fear"], ["anger"], ["love"], ["joy", "love"], ["anger", "fear"], ["fear", "joy"]]
    return [patterns[(i + seed) % len(patterns)] for i in range(n)]


def text(labels: list[str], i: int) -> str:
    return " ".join(["i", "feel", *(CUES[label][i % 5] for label in labels), "today", str(i)])


def write_jsonl(folder, sizes=(40, 16, 16)):
    folder.mkdir(parents=True, exist_ok=True)
    for (name, n), seed in zip(zip(("train", "validation", "test"), sizes, strict=True), (0, 3, 5), strict=True):
        rows = [{"text": text(labels, i), "labels": labels} for i, labels in enumerate(label_sets(n, seed))]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_a_label_column_of_lists_is_multi_label_with_its_reason(tmp_path):
    data = load_data(str(write_jsonl(tmp_path)), label_column="labels")
    assert data.multi_label and data.task_reason.startswith("the label column holds lists (")
    assert data.labels == LABELS  # sorted names
    train = data.splits["train"]
    assert [[data.labels[i] for i in ids] for ids in train["label"][:6]] == [
        [],
        ["joy"],
        ["fear"],
        ["anger"],
        ["love"],
        ["joy", "love"],
    ]
    stats = label_set_stats(train["label"])
    assert stats["none"] == 5 and stats["two_or_more"] == pytest.approx(15 / 40)
    assert data.class_counts()["joy"]["train"] == sum("joy" in s for s in label_sets(40))


def test_one_0_1_column_per_label(tmp_path):
    sets = label_sets(40)
    frame = pd.DataFrame({"text": [text(s, i) for i, s in enumerate(sets)]})
    for label in ["love", "joy", "fear", "anger"]:  # the columns' order is the labels' order
        frame[label] = [int(label in s) for s in sets]
    frame["fear"] = frame["fear"].map({1: "true", 0: "False"})  # true/false cells too
    for suffix, write in ((".csv", lambda f, p: f.to_csv(p, index=False)), (".parquet", pd.DataFrame.to_parquet)):
        path = tmp_path / f"tweets{suffix}"
        write(frame, path)
        data = load_data(str(path), label_columns=["love", "joy", "fear", "anger"])
        assert data.multi_label and data.task_reason.startswith("--label-columns names one 0/1 column per label")
        assert data.labels == ["love", "joy", "fear", "anger"]
        read = {
            t: {data.labels[i] for i in ids}
            for ds in data.splits.values()
            for t, ids in zip(ds["text"], ds["label"], strict=True)
        }
        assert read == {text(s, i): set(s) for i, s in enumerate(sets)}  # every row, every label, none lost


@pytest.mark.parametrize(("cell", "shown"), [("2", "'2'"), ("yes", "'yes'"), ("", "''")])
def test_a_bad_0_1_cell_names_file_line_and_column(tmp_path, cell, shown):
    path = tmp_path / "tweets.csv"
    path.write_text(f"text,joy,fear\ni am glad,1,0\ni am scared,0,1\nwhat now,{cell},0\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match=rf"tweets.csv line 4: column 'joy' holds {shown} — expected 0 or 1"):
        load_data(str(path), label_columns=["joy", "fear"])
    with pytest.raises(ToolkitError, match=r"no column\(s\) 'anger' of --label-columns"):
        load_data(str(path), label_columns=["joy", "anger"])


def test_multi_label_with_a_separator_in_txt_and_csv(tmp_path):
    sets = label_sets(40)
    txt = tmp_path / "tweets.txt"
    txt.write_text("".join(f"{text(s, i)};{'|'.join(s)}\n" for i, s in enumerate(sets)), encoding="utf-8")
    data = load_data(str(txt), label_mode="multi", label_separator="|")
    assert data.multi_label and data.task_reason == "--multi-label: a label cell holds label names separated by '|'"
    assert label_set_stats(data.splits["train"]["label"])["none"] + sum(
        label_set_stats(data.splits[s]["label"])["none"] for s in ("validation", "test")
    ) == sum(not s for s in sets)  # a text with no label is kept, and counted
    csv = tmp_path / "tweets.csv"
    csv.write_text("text,label\n" + "".join(f'{text(s, i)},"{",".join(s)}"\n' for i, s in enumerate(sets)))
    assert load_data(str(csv), label_mode="multi").labels == LABELS
    # Without --multi-label such cells are single labels: "joy,love" is a class of its own.
    labelled = [s for s in sets if s] * 3
    csv.write_text("text,label\n" + "".join(f'{text(s, i)},"{",".join(s)}"\n' for i, s in enumerate(labelled)))
    assert "joy,love" in load_data(str(csv)).labels


def test_single_label_overrides_and_refuses_lists(tmp_path):
    with pytest.raises(ToolkitError, match=r"train.jsonl line 1: the label is a list \(\[\]\) — a single-label run"):
        load_data(str(write_jsonl(tmp_path)), label_column="labels", label_mode="single")
    with pytest.raises(ToolkitError, match="--multi-label and --single-label contradict each other"):
        parse_config(["--multi-label", "--single-label"])
    options = parse_config(["--label-columns", "joy,fear", "--threshold-objective", "micro-f1"])[0].data_options()
    assert options["label_columns"] == ["joy", "fear"] and options["label_mode"] == "auto"


def test_every_check_works_per_label(tmp_path):
    folder = write_jsonl(tmp_path)
    with pytest.raises(ToolkitError, match=r"4 label\(s\) with fewer than 50 training examples — 'anger' on line "):
        load_data(str(folder), label_column="labels", min_class_examples=50)
    rows = [{"text": "a rare one", "labels": ["grief"]}]
    (folder / "test.jsonl").write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match=r"test.jsonl line 1: label 'grief' never appears in train"):
        load_data(str(folder), label_column="labels")
    only = tmp_path / "one.jsonl"
    only.write_text("".join(json.dumps({"text": f"t {i}", "labels": ["joy"] * (i % 2)}) + "\n" for i in range(20)))
    with pytest.raises(ToolkitError, match=r"only one label \('joy'\) in the training data"):
        load_data(str(only), label_column="labels")


def test_a_label_name_holding_a_set_separator_is_refused(tmp_path):
    """Sets are written as names joined by ';' (errors.csv, flags, predict's CSV) and read with ';' or ',': a name
    holding one would come back as two labels."""
    rows = [{"text": f"t {i}", "labels": ["joy;love"] if i % 2 else ["anger"]} for i in range(20)]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(ToolkitError, match=r"label 'joy;love' on line 2 holds a ';' or ','"):
        load_data(str(path), label_column="labels")


# --- Issue 29: a ';' label separator in a .txt, the same column twice, null labels -------------------------------


def test_a_semicolon_label_separator_in_a_txt_is_refused_and_commas_read_the_set(tmp_path):
    """'text;anger;love' was read as the text 'text;anger' with the label 'love': 1.00 labels per text."""
    kinds = (("mad", "anger"), ("sweet", "love"), ("both", "anger;love"))
    path = tmp_path / "tweets.txt"
    path.write_text("".join(f"so {word} {i};{labels}\n" for i in range(10) for word, labels in kinds), encoding="utf-8")
    message = (
        f"data error: {path}: --label-separator ';' cannot work in a .txt file, whose lines are \"text;label\" split "
        "on the last ';' (\"so happy;joy;love\" would be the text \"so happy;joy\" with the label 'love') — write the "
        'set with commas ("so happy;joy,love", the default --label-separator), or use a .csv or .jsonl'
    )
    with pytest.raises(ToolkitError) as err:
        load_data(str(path), label_mode="multi", label_separator=";")
    assert str(err.value) == message
    with pytest.raises(ToolkitError) as err:
        list(open_input(str(path), separator=";").rows())  # training.predict reads with the same reader
    assert str(err.value) == message
    path.write_text(path.read_text(encoding="utf-8").replace(";anger;love", ";anger,love"), encoding="utf-8")
    data = load_data(str(path), label_mode="multi")
    assert max(len(ids) for split in data.splits.values() for ids in split["label"]) == 2
    csv = tmp_path / "tweets.csv"
    csv.write_text("text,labels\n" + "".join(f"so both {i},anger;love\n" for i in range(12)), encoding="utf-8")
    assert load_data(str(csv), label_column="labels", label_mode="multi", label_separator=";").labels == [
        "anger",
        "love",
    ]  # a CSV cell has no ';' of its own: the separator works there


def test_label_columns_naming_a_column_twice_is_one_line(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text("text,joy,anger\n" + "".join(f"text {i},{i % 2},{1 - i % 2}\n" for i in range(40)))
    message = (
        f"data error: {path}: --label-columns names 'joy' twice (joy,joy,anger) — name each label's 0/1 column once"
    )
    with pytest.raises(ToolkitError) as err:  # was datasets' ValueError "Some label names are duplicated"
        load_data(str(path), label_columns=["joy", "joy", "anger"])
    assert str(err.value) == message
    with pytest.raises(ToolkitError) as err:
        list(open_input(str(path), label_columns=("joy", "joy", "anger")).rows())
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([None, "joy"], r"train.jsonl line 3: a null among the labels \[None, 'joy'\] — expected label names"),
        (None, r"train.jsonl line 3: the label is null — expected a list of label names \(\[\] for a text with none\)"),
    ],
)
def test_a_null_label_is_one_line_never_a_class_named_none(tmp_path, labels, message):
    """Five such rows were enough to train a class 'None'."""
    folder = write_jsonl(tmp_path)
    train = folder / "train.jsonl"
    lines = train.read_text(encoding="utf-8").splitlines()
    for number in range(2, 7):  # lines 3 to 7
        lines[number] = json.dumps({"text": f"a null row {number}", "labels": labels})
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match=message):
        load_data(str(folder), label_column="labels", label_mode="multi" if labels is None else "auto")


def test_a_null_single_label_is_one_line(tmp_path):
    path = tmp_path / "tweets.jsonl"
    rows = [{"text": f"text {i}", "label": ["joy", "anger", None][i % 3]} for i in range(30)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(ToolkitError, match=rf"^data error: {path} line 3: the label is null — expected a label name$"):
        load_data(str(path), min_class_examples=5)


def test_label_columns_naming_a_column_twice_stops_training_with_exit_2(tmp_path, tiny_backbone_dir, capsys):
    from training.__main__ import main

    path = tmp_path / "tweets.csv"
    path.write_text("text,joy,anger\n" + "".join(f"text {i},{i % 2},{1 - i % 2}\n" for i in range(40)))
    options = ["--data", str(path), "--label-columns", "joy,joy,anger", "--model", str(tiny_backbone_dir)]
    assert main([*options, "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.splitlines()[-1].endswith(
        "--label-columns names 'joy' twice (joy,joy,anger) — name each label's 0/1 column once"
    )
    assert not (tmp_path / "out").exists()
