"""No row dropped, merged or mangled in silence: the same reader serves training (load_data) and predict."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from training.data import readers
from training.data.load import load_data
from training.errors import ToolkitError
from training.predict.inputs import open_input

HEADER = "text,label\n"


def train_rows(path, **options):
    """What training reads: the rows of the one file (min_class_examples 0: tiny fixtures)."""
    data = load_data(str(path), min_class_examples=0, **options)
    return [text for ds in data.splits.values() for text in ds["text"]]


def predict_rows(path, **options):
    return [row.text for row in open_input(str(path), **options).rows()]


def test_a_csv_row_with_more_fields_than_its_header_is_one_line_with_a_quoting_hint(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text(HEADER + "i am glad,joy\nwell, i feel happy today,joy\n", encoding="utf-8")
    for read in (train_rows, predict_rows):
        with pytest.raises(ToolkitError, match=r"tweets.csv line 3: 3 field\(s\), but the header has 2") as err:
            read(path)
        assert "double quotes" in str(err.value)
    one_column = tmp_path / "texts.csv"
    one_column.write_text("text\nwell, i feel happy today\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match=r"texts.csv line 2: 2 field\(s\)"):
        predict_rows(one_column, label_column=None)


def test_a_quoted_csv_text_with_a_comma_is_read_whole(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text(HEADER + '"well, i feel happy today",joy\n"""quoted"" she said",joy\n', encoding="utf-8")
    assert predict_rows(path) == ["well, i feel happy today", '"quoted" she said']


def test_tsv_quotes_are_ordinary_characters(tmp_path):
    rows = ['"unclosed quote at the start', '"quoted" she said', "plain", 'end "', "last"]
    path = tmp_path / "tweets.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{text}\tjoy\n" for text in rows), encoding="utf-8")
    assert predict_rows(path) == rows  # 5 rows in, the same 5 out, quotes as written
    training_rows, _ = readers.read_rows(path, readers.Columns("text", "label"))  # what load_data reads each file with
    assert [row.text for row in training_rows] == rows
    assert [row.where.rsplit(" ", 1)[1] for row in training_rows] == ["2", "3", "4", "5", "6"]  # the right lines


def test_a_long_field_is_read_and_one_over_the_limit_names_its_line(tmp_path, monkeypatch):
    long_text = "happy " * 40_000  # 240,000 characters: over Python's default csv limit
    path = tmp_path / "long.csv"
    path.write_text(HEADER + f"short,joy\n{long_text},joy\n", encoding="utf-8")
    assert predict_rows(path) == ["short", long_text.strip()]
    monkeypatch.setattr(readers, "MAX_FIELD_CHARS", 1000)
    with pytest.raises(ToolkitError, match=r"long.csv line 3: a field longer than 1,000 characters"):
        predict_rows(path)


@pytest.mark.parametrize(
    ("text", "kind"), [(["a", "list"], "list"), ({"a": "dict"}, "dict"), (0, "int"), (False, "bool"), (1.5, "float")]
)
def test_a_text_that_is_not_a_string_is_one_line_naming_the_row(tmp_path, text, kind):
    path = tmp_path / "tweets.jsonl"
    records = [{"text": "fine", "label": "joy"}, {"text": text, "label": "joy"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for read in (train_rows, predict_rows):
        with pytest.raises(
            ToolkitError, match=rf"tweets.jsonl line 2: column 'text' holds {kind} .* expected a string"
        ):
            read(path)


def test_a_parquet_text_that_is_a_number_is_one_line_naming_the_row(tmp_path):
    path = tmp_path / "tweets.parquet"
    pd.DataFrame({"text": [1, 2], "label": ["joy", "joy"]}).to_parquet(path)
    with pytest.raises(ToolkitError, match=r"tweets.parquet row 0: column 'text' holds int 1"):
        predict_rows(path)


def test_a_null_id_is_one_line_never_the_string_none(tmp_path):
    path = tmp_path / "tweets.jsonl"
    records = [{"id": "a", "text": "x"}, {"id": None, "text": "y"}, {"id": None, "text": "z"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with pytest.raises(ToolkitError, match=r"tweets.jsonl line 2: column 'id' is empty"):
        [row.id for row in open_input(str(path), id_column="id").rows()]


def test_no_labels_holds_for_a_txt_file(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("a text; with a semicolon;joy\nno semicolon here\n", encoding="utf-8")
    rows = list(open_input(str(path), label_column=None).rows())
    assert [(row.text, row.label) for row in rows] == [
        ("a text; with a semicolon;joy", None),
        ("no semicolon here", None),
    ]
