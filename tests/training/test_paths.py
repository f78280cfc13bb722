"""How local paths are named in the files that leave this machine (training/paths.py)."""

from pathlib import Path

import pytest

from training.paths import local_paths, portable_name, published_options


@pytest.mark.parametrize(
    "value, expected",
    [
        ("dair-ai/emotion", "dair-ai/emotion"),  # a Hub id
        ("offline", "offline"),  # an alias
        (None, None),
        ("/no/such/place/my_tweets", "my_tweets"),  # absolute: a path even when missing
        ("~/tweets.csv", "tweets.csv"),
        ("https://user:pw@example.org:8080/d/tweets.csv?token=secret#x", "https://example.org:8080/d/tweets.csv"),
    ],
)
def test_portable_name(value, expected):
    assert portable_name(value) == expected


def test_existing_folders_and_files_keep_only_their_name(tmp_path, monkeypatch):
    (tmp_path / "my_tweets").mkdir()
    (tmp_path / "my_tweets" / "train.csv").write_text("text,label\n")
    monkeypatch.chdir(tmp_path / "my_tweets")
    assert portable_name(str(tmp_path / "my_tweets")) == "my_tweets/"
    assert portable_name(".") == "my_tweets/" and portable_name("train.csv") == "train.csv"


def test_options_keep_full_paths_only_in_local_paths(tmp_path):
    options = {"data": str(tmp_path / "d.csv"), "model": "offline", "output_dir": "runs/x", "epochs": 2.0}
    (tmp_path / "d.csv").write_text("text,label\n")
    assert published_options(options) == {**options, "data": "d.csv"}  # runs/x: a valid Hub id, not on disk
    assert local_paths(options) == {"data": str(tmp_path / "d.csv")}
    assert str(Path.home()) not in str(published_options({**options, "corrections": "~/flags"}))
